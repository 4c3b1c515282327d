/*
 * report.h - `fencedep report`: merge, render and gate per-process reports.
 */
#ifndef FDEP_REPORT_H
#define FDEP_REPORT_H

/*
 * argv[0] is "report".  Returns the exit status: 0 when nothing new was
 * found, 1 on new findings, 2 on bad usage or input.
 */
int report_main(int argc, char **argv);

#endif
