/*
 * render.h - the output formats of `fencedep report`: text, json, sarif,
 * html and dot.  Each renderer writes the whole report to one stream and
 * returns 0, or -1 when writing failed.
 */
#ifndef FDEP_RENDER_H
#define FDEP_RENDER_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdio.h>

#include "report_model.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

struct render_opts {
	bool cycles_only;	/* dot: only the edges of reported cycles */
	const char *srcroot;	/* sarif, github: make file paths under it relative */
	bool verbose;		/* text, html: also thread start frames */
	int color;		/* text: 0 auto, 1 always, 2 never */
	const char *source_url;	/* html: link template with {path} and {line} */
};

/* The path relative to root when it is under root, else NULL. */
const char *under_root(const char *file, const char *root);
/* The text report's "possible unsafe scenario" of a cycle of two or more. */
void text_scenario(FILE *out, const struct report *r, const struct rfinding *f);

typedef int (*render_fn)(FILE *out, const struct report *r,
			 const struct render_opts *o);

int render_text(FILE *out, const struct report *r, const struct render_opts *o);
int render_json(FILE *out, const struct report *r, const struct render_opts *o);
int render_sarif(FILE *out, const struct report *r, const struct render_opts *o);
int render_html(FILE *out, const struct report *r, const struct render_opts *o);
int render_dot(FILE *out, const struct report *r, const struct render_opts *o);
int render_github(FILE *out, const struct report *r, const struct render_opts *o);

/* "function (module+0xoff) file:line" for one frame, as text. */
void frame_describe(const struct rframe *f, char *buf, size_t len);
/* "pid 123 (./prog arg)" for a process. */
void proc_describe(const struct rproc *p, char *buf, size_t len);
/* A JSON string literal, quotes included. */
void json_put_string(FILE *out, const char *s);
/* The frame where an acquisition happened, in the program: the first
 * frame outside the runtime and libc with a file and line, else the first
 * such frame, else the first with a file and line or a function, else
 * NULL. */
const struct rframe *stack_site(const struct rstack *s);
/* A thread or process start frame (the runtime's, libc's): not shown
 * unless verbose. */
bool frame_hidden(const struct rframe *f);
/* "SUMMARY: fencedep: KIND A -> B -> A FILE:LINE in FUNCTION": the line
 * ending each finding, in the runtime's text report too. */
void finding_summary(const struct rfinding *f, char *buf, size_t len);

#endif
