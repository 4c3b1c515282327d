/*
 * fuzz_json.c - libFuzzer harness for everything `fencedep report` does
 * with an input file: reading JSON (jansson), the schema-1 reader, merging and
 * the cycle search, and every renderer.  Any input must give a report or
 * an error, never a crash, a leak or undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "report_model.h"

static FILE *sink(void)
{
	static FILE *null;

	if (!null)
		null = fopen("/dev/null", "w");
	return null;
}

static void render_all(struct report *r)
{
	struct render_opts o = { .cycles_only = false, .srcroot = "/src" };

	render_text(sink(), r, &o);
	render_json(sink(), r, &o);
	render_sarif(sink(), r, &o);
	render_html(sink(), r, &o);
	o.cycles_only = true;
	render_dot(sink(), r, &o);
	baseline_write(sink(), r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct read_error err;
	struct report r;

	report_init(&r);
	if (!report_read_buf(&r, "fuzz.json", (const char *)data, size, &err) &&
	    !report_merge(&r)) {
		report_count(&r);
		render_all(&r);
	}
	report_free(&r);
	return 0;
}
