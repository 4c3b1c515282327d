/*
 * report_model.h - what `fencedep report` knows after reading its inputs:
 * the processes, their classes, edges and findings, and the merged graph.
 *
 * Strings point into the report's string table (one copy of each), which
 * lives as long as the report; the JSON documents are freed once read.  One file per step: report_read.c (JSON to this model),
 * strtab.c (string tables), merge.c (one graph, cycles across processes),
 * report_gate.c (baseline and suppressions), render_*.c (output).
 */
#ifndef FDEP_REPORT_MODEL_H
#define FDEP_REPORT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "strtab.h"

#include <limits.h>

enum { STAT_CLASSES, STAT_EDGES, STAT_CHAINS, STAT_ACQUISITIONS,
	STAT_CHAIN_HITS, NSTATS };
extern const char *const report_stat_names[NSTATS];

/* Counts add up to LONG_MAX and stay there (inputs are never negative). */
static inline long count_add(long a, long b)
{
	if (a < 0)
		a = 0;
	if (b < 0)
		b = 0;
	return a > LONG_MAX - b ? LONG_MAX : a + b;
}

struct rframe {
	const char *pc, *module, *offset, *function, *file;
	long line;			/* 0: unknown */
};

struct rstack {
	struct rframe *frames;
	size_t n;
};

/* One input report: one process. */
struct rproc {
	const char *path;		/* the file it was read from */
	long pid;
	const char *const *argv;
	size_t argc;
	long stats[NSTATS];		/* its own statistics */
};

/*
 * A dependency from -> to, lockdep's -(XY)->: X the holder's mode, E
 * (exclusive) or S (shared reader); Y the acquirer's, R (recursive reader)
 * or N (anything else).
 */
struct redge {
	const char *from, *to;
	char type[3];
	bool primed;
	struct rstack stack;
	const struct rproc *proc;
};

struct rheld {
	const char *cls, *mode;
	const char *role;		/* "signalling path", "trylock"...: or NULL */
	struct rstack stack;
};

/* A further stack of a finding, with what it is ("the fence was published"). */
struct rnote {
	const char *label;
	struct rstack stack;
};

struct rfinding {
	const char *kind, *title;
	const char *detail;		/* a line about this occurrence */
	const char *created_at;		/* the function that made its thread */
	const char *created_file;	/* and where, when known */
	long created_line;
	const char *dump;		/* a hang's state of every thread */
	long cycle_length;		/* the whole cycle's, when longer than shown */
	struct rnote *notes;
	size_t nnotes;
	char fp[17];
	const char *subject;		/* "class": what a finding of one place is about */
	long count;
	bool has_thread;
	long tid;
	const char *thread_name;
	bool has_cycle;
	struct redge *cycle;
	size_t ncycle;
	struct rheld *held;
	size_t nheld;
	struct rstack stack;
	const struct rproc *proc;	/* the first process that reported it */
	size_t nprocs;			/* how many processes reported it */
	bool merged;			/* found by merging, seen by no process */
	bool baselined;			/* its fingerprint is in the baseline */
	bool suppressed;
};

struct rclass {
	const char *name, *kind;
	const struct rproc *proc;	/* read from; in the merged graph, NULL
					 * unless the name means a lock of this
					 * process only (class_name_global) */
};

/* The merged graph: one node per class name, one edge per class pair. */
struct medge {
	size_t from, to;		/* class indices */
	unsigned types;			/* bit edge_type_bit() per type seen */
	const struct redge *first[4];	/* per type: its first occurrence */
	const struct redge **occ;	/* every occurrence of this pair */
	size_t nocc, capocc;
	bool on_cycle;			/* part of a reported cycle */
	bool explained;			/* part of a cycle already searched out */
};

struct mgraph {
	struct rclass *classes;
	size_t nclasses, capclasses;
	struct strtab class_index;
	struct medge *edges;
	size_t nedges, capedges;
	struct strtab edge_index;
	size_t **out;			/* per class: indices of its out-edges */
	size_t *nout;
};

struct report {
	struct rproc **procs;
	size_t nprocs, capprocs;
	struct strtab strings;		/* every string read, once */
	struct redge *edges;		/* every edge of every process */
	size_t nedges, capedges;
	struct rclass *classes;		/* every class of every process */
	size_t nclasses, capclasses;
	struct rfinding *findings;
	size_t nfindings, capfindings;
	long stats[NSTATS];
	struct mgraph graph;
	size_t ncarried;		/* findings read, before dedup */
	size_t nnew, nbaselined, nsuppressed;
	bool search_cut;		/* the cycle search hit its budget */
};

struct read_error {
	unsigned line, col;		/* 0 when not about a position */
	char msg[200];
};

/* report_read.c */
void report_init(struct report *r);
void report_free(struct report *r);
/* Read every JSON report of buf (one or several, one after another). */
int report_read_buf(struct report *r, const char *path, const char *buf,
		    size_t len, struct read_error *err);

/* merge.c */
unsigned edge_type_bit(const char type[2]);
bool edge_type_valid(const char *type);
/* Deduplicate the findings read and add the cycles found across processes. */
int report_merge(struct report *r);
const char *class_kind(const struct report *r, const char *name);
/* Does the class name mean the same lock in every process? */
bool class_name_global(const char *name);
const char *cycle_kind(const struct report *r, const char *const *names, size_t n);
const char *kind_title(const char *kind);
/*
 * The fingerprint of the cycle of n edges (edges[i], or *ptrs[i] when ptrs
 * is not NULL) or, for n == 1 and no cycle, of a finding of one place, as
 * the runtime computes it (fingerprint.h).
 */
void cycle_fingerprint(const char *kind, const struct redge *edges,
		       const struct redge *const *ptrs, size_t n, char fp[17]);
/* The fingerprint version 1 gave the finding (for old baselines). */
void finding_fingerprint_v1(const struct rfinding *f, char fp[17]);
/* The stack of the acquisition that closed a finding. */
const struct rstack *finding_site_stack(const struct rfinding *f);

/* report_gate.c */
struct suppress_set;
/* Every string a suppression may match: classes, functions, files, modules. */
size_t finding_strings(const struct rfinding *f, const char ***out);
void report_suppress(struct report *r, const struct suppress_set *set);
/* Mark the findings whose fingerprint is in the baseline table. */
void report_apply_baseline(struct report *r, const struct strtab *baseline);
int baseline_parse(const char *buf, size_t len, struct strtab *fps,
		   struct read_error *err);
int baseline_write(FILE *out, const struct report *r);
/* Count the findings shown (not suppressed) and the new ones. */
void report_count(struct report *r);

/* Shown findings: not suppressed. */
static inline bool finding_shown(const struct rfinding *f)
{
	return !f->suppressed;
}

#endif
