/*
 * render_sarif.c - SARIF 2.1.0 for code scanning: one rule per finding
 * kind, one result per finding located at the acquisition that closed it,
 * the cycle as a thread flow, the fingerprint as a partial fingerprint and
 * the baseline state as "new" or "unchanged".
 */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "kinds.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

/* A file path as a URI reference: unreserved bytes and "/" kept, others %XX. */
static void put_uri(FILE *out, const char *path, const char *prefix)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *p;

	fputc('"', out);
	fputs(prefix, out);
	for (p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~/", c))
			fputc(c, out);
		else
			fprintf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	fputc('"', out);
}

/* The path relative to srcroot when under it, else NULL (render.h). */
const char *under_root(const char *file, const char *root)
{
	size_t n;

	if (!root || !*root)
		return NULL;
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (strncmp(file, root, n) || file[n] != '/')
		return NULL;
	return file + n + 1;
}

/* The source root as a URI ending in "/", as SARIF wants of a base. */
static void put_root_uri(FILE *out, const char *root)
{
	size_t n = strlen(root);
	char *dir = malloc(n + 2);

	if (!dir) {
		fputs("\"\"", out);
		return;
	}
	memcpy(dir, root, n + 1);
	if (!n || dir[n - 1] != '/')
		strcpy(dir + n, "/");
	put_uri(out, dir, dir[0] == '/' ? "file://" : "");
	free(dir);
}

static void put_artifact(FILE *out, const char *file, const struct render_opts *o)
{
	const char *rel = under_root(file, o->srcroot);

	fputs("\"artifactLocation\": {\"uri\": ", out);
	if (rel) {
		put_uri(out, rel, "");
		fputs(", \"uriBaseId\": \"%SRCROOT%\"", out);
	} else {
		put_uri(out, file, file[0] == '/' ? "file://" : "");
	}
	fputc('}', out);
}

/* A location object for frame f (may be NULL), with an optional message. */
static void put_location(FILE *out, const struct rframe *f, const char *msg,
			 const struct render_opts *o)
{
	bool comma = false;

	fputc('{', out);
	if (f && f->file && f->line > 0) {
		fputs("\"physicalLocation\": {", out);
		put_artifact(out, f->file, o);
		fprintf(out, ", \"region\": {\"startLine\": %ld}}", f->line);
		comma = true;
	}
	if (f && f->function) {
		fprintf(out, "%s\"logicalLocations\": [{\"name\": ", comma ? ", " : "");
		json_put_string(out, f->function);
		fputs(", \"kind\": \"function\"}]", out);
		comma = true;
	}
	if (msg) {
		fprintf(out, "%s\"message\": {\"text\": ", comma ? ", " : "");
		json_put_string(out, msg);
		fputc('}', out);
	}
	fputc('}', out);
}

static void put_rule(FILE *out, const struct kind_info *k, bool first)
{
	fputs(first ? "\n        {" : ",\n        {", out);
	fputs("\"id\": ", out);
	json_put_string(out, k->kind);
	fputs(", \"shortDescription\": {\"text\": ", out);
	json_put_string(out, k->title);
	fputs("}, \"fullDescription\": {\"text\": ", out);
	json_put_string(out, k->help);
	fputs("}, \"help\": {\"text\": ", out);
	if (k->fix) {
		size_t n = strlen(k->help) + strlen(k->fix) + 2;
		char *both = malloc(n);
		if (both)
			snprintf(both, n, "%s %s", k->help, k->fix);
		json_put_string(out, both ? both : k->help);
		free(both);
	} else {
		json_put_string(out, k->help);
	}
	fprintf(out, "}, \"defaultConfiguration\": {\"level\": \"%s\"}, "
		     "\"properties\": {\"tags\": [\"concurrency\", \"deadlock\"]}}",
		k->level);
}

/*
 * Every known kind, then any unknown kind some finding has, each once;
 * rules maps each kind to its index in that list.
 */
static int put_rules(FILE *out, const struct report *r, struct strtab *rules)
{
	struct kind_info extra = { 0 };
	size_t i, n = 0;
	const char *kind;

	for (i = 0; i < kind_count; i++) {
		put_rule(out, &kind_table[i], i == 0);
		if (strtab_put(rules, kind_table[i].kind, strlen(kind_table[i].kind), n++))
			return -1;
	}
	for (i = 0; i < r->nfindings; i++) {
		kind = r->findings[i].kind;
		if (strtab_get(rules, kind, strlen(kind), NULL))
			continue;
		if (strtab_put(rules, kind, strlen(kind), n++))
			return -1;
		extra.kind = extra.title = extra.help = kind;
		extra.level = "error";
		put_rule(out, &extra, false);
	}
	return 0;
}

static void cycle_text(const struct rfinding *f, char *buf, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < f->ncycle && n < len; i++)
		n += snprintf(buf + n, len - n, "%s -> ", f->cycle[i].from);
	if (n < len && f->ncycle)
		snprintf(buf + n, len - n, "%s", f->cycle[0].from);
}

static void put_message(FILE *out, const struct rfinding *f)
{
	char buf[2048], cyc[1024] = "";

	cycle_text(f, cyc, sizeof(cyc));
	snprintf(buf, sizeof(buf), "%s%s%s%s", f->title, *cyc ? ": " : "", cyc,
		 f->merged ? " (found by merging the graphs of several processes)" : "");
	fputs("\"message\": {\"text\": ", out);
	json_put_string(out, buf);
	fputc('}', out);
}

static void put_code_flow(FILE *out, const struct rfinding *f,
			  const struct render_opts *o)
{
	char msg[1024], proc[512];
	size_t i;

	fputs(",\n          \"codeFlows\": [{\"threadFlows\": [{\"locations\": [", out);
	for (i = 0; i < f->ncycle; i++) {
		const struct redge *e = &f->cycle[i];

		proc[0] = '\0';
		if (e->proc)
			proc_describe(e->proc, proc, sizeof(proc));
		snprintf(msg, sizeof(msg), "%s -(%s)-> %s: %s acquired while holding %s%s%s",
			 e->from, e->type, e->to, e->to, e->from,
			 *proc ? ", in " : "", proc);
		fputs(i ? ",\n            {\"location\": " : "\n            {\"location\": ", out);
		put_location(out, stack_site(&e->stack), msg, o);
		fputc('}', out);
	}
	fputs("]}]}]", out);
}

static void put_result(FILE *out, const struct strtab *rules,
		       const struct rfinding *f, const struct render_opts *o)
{
	const struct kind_info *k = kind_lookup(f->kind);
	size_t rule = 0;

	fputs("        {\"ruleId\": ", out);
	json_put_string(out, f->kind);
	fprintf(out, ", \"ruleIndex\": %zu, \"level\": \"%s\",\n          ",
		(strtab_get(rules, f->kind, strlen(f->kind), &rule), rule),
		k ? k->level : "error");
	put_message(out, f);
	fputs(",\n          \"locations\": [", out);
	put_location(out, stack_site(finding_site_stack(f)), NULL, o);
	fprintf(out, "],\n          \"partialFingerprints\": {\"fencedep/v2\": \"%s\"}, "
		     "\"baselineState\": \"%s\", \"occurrenceCount\": %ld",
		f->fp, f->baselined ? "unchanged" : "new", f->count);
	if (f->ncycle)
		put_code_flow(out, f, o);
	fputc('}', out);
}

int render_sarif(FILE *out, const struct report *r, const struct render_opts *o)
{
	struct strtab rules;
	bool first = true;
	size_t i;

	strtab_init(&rules);
	fprintf(out, "{\n  \"$schema\": \"%s\",\n  \"version\": \"2.1.0\",\n"
		     "  \"runs\": [{\n    \"tool\": {\"driver\": {\"name\": \"fencedep\", "
		     "\"version\": \"%s\", \"semanticVersion\": \"%s\",\n"
		     "      \"rules\": [",
		SARIF_SCHEMA, PACKAGE_VERSION, PACKAGE_VERSION);
	if (put_rules(out, r, &rules)) {
		strtab_free(&rules);
		return -1;
	}
	fputs("]}},\n", out);
	if (o->srcroot) {
		fputs("    \"originalUriBaseIds\": {\"%SRCROOT%\": {\"uri\": ", out);
		put_root_uri(out, o->srcroot);
		fputs("}},\n", out);
	}
	fputs("    \"results\": [", out);
	for (i = 0; i < r->nfindings; i++) {
		if (!finding_shown(&r->findings[i]))
			continue;
		fputs(first ? "\n" : ",\n", out);
		first = false;
		put_result(out, &rules, &r->findings[i], o);
	}
	strtab_free(&rules);
	fputs("]\n  }]\n}\n", out);
	return ferror(out) ? -1 : 0;
}
