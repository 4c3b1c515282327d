/*
 * model.c - what the whole model shares: fatal errors, clocks, zeroed
 * allocations, statistics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "vmbind.h"

atomic_ullong stat_invalidations;

void vmb_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vmbind-stress: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(status);
}

void *vmb_zalloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p)
		vmb_fatal(1, "out of memory");
	return p;
}

void vmb_sleep_us(unsigned us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000L };

	nanosleep(&ts, NULL);
}

uint64_t vmb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
