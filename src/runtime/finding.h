/*
 * finding.h - the stored form of a finding, shared by the report writers.
 */
#ifndef FDEP_FINDING_H
#define FDEP_FINDING_H

#include "runtime.h"

struct finding {
	int kind;
	int sig; /* signal-unsafe-*: the signal */
	const char *title;
	const char *detail;
	char fingerprint[17];
	char exact[17];        /* kind and whole class names: tells apart two
				* findings of one fingerprint (fingerprint.h) */
	uint32_t count;
	pid_t tid;
	char thread_name[32];
	uintptr_t thread_site; /* where the thread was created, 0 for main */
	uint32_t ncycle, cycle_total;
	struct {
		const char *from, *to;
		uint8_t from_kind, to_kind;
		uint8_t type;
		bool primed;
		uint32_t stack;
	} cycle[CYCLE_MAX];
	const char *subject[2];
	uint32_t nheld;
	struct {
		const char *cls;
		uint8_t mode, flags;
		uintptr_t ip;
	} held[FINDING_HELD_MAX];
	uint32_t stack;
	struct {
		const char *label;
		uint32_t stack;
	} notes[FINDING_NOTES_MAX];
	uint32_t nnotes;
	char *dump;
	size_t dump_len;
	/* its JSON text, rendered once (report_json.c): the count, which
	 * changes, goes in at json_count_at */
	char *json;
	size_t json_len, json_count_at;
	struct finding *next;
};

extern struct finding *findings_head;
/* The descriptor reports are written to: the log file, opened again if the
 * program reused its number (may_open false: from a signal handler, which
 * gets stderr then). */
int report_out(bool may_open);

void report_text(struct rt_buf *b, const struct finding *f);
/* The classes and edges the JSON report lists (report_lock held). */
void report_listed_counts(size_t *classes, size_t *edges);
void report_frames_text(struct rt_buf *b, uint32_t stack, const char *indent);
const char *hold_mode_name(int mode);

/* report_text.c: the text report's colours (color=) */
bool report_colored(void);
void report_colorize(struct rt_buf *b, const char *s, size_t n);

#endif
