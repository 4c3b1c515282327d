/*
 * render_html.c - one self-contained HTML page: inline CSS and SVG, no
 * script, nothing fetched.  Findings first, new ones marked; each cycle
 * drawn as its classes on a circle with the dependencies as arrows, and
 * the stack of every dependency beside it.
 */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "kinds.h"
#include "sanitize.h"

#define SVG_W 520
#define SVG_H 440
#define NODE_R 30
#define RING_R 125
#define LABEL_MAX 22

/*
 * Text for HTML: markup characters as entities, control characters and
 * malformed UTF-8 as U+FFFD.
 */
static void esc(FILE *out, const char *s)
{
	unsigned cp;
	size_t k;

	for (; s && *s; s++) {
		if ((unsigned char)*s >= 0x80) {
			k = utf8_seq(s, &cp);
			if (k && !(cp >= 0x80 && cp <= 0x9f)) {
				fwrite(s, 1, k, out);
				s += k - 1;
			} else {
				fputs("&#xfffd;", out);
				s += k ? k - 1 : 0;
			}
			continue;
		}
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') ||
			    *s == 0x7f)
				fputs("&#xfffd;", out);
			else
				fputc(*s, out);
		}
	}
}

/* At most max bytes of s, with "..." when cut (on a UTF-8 boundary). */
static void esc_short(FILE *out, const char *s, size_t max)
{
	char buf[64];
	size_t n = strlen(s);

	if (n <= max) {
		esc(out, s);
		return;
	}
	n = max - 1;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	strcpy(buf + n, "\xe2\x80\xa6");
	esc(out, buf);
}

static const char css[] =
	"*{box-sizing:border-box}"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"color:#1d2330;background:#f3f4f7}"
	"header{background:#1d2330;color:#fff;padding:18px 32px}"
	"header h1{margin:0;font-size:20px;font-weight:600}"
	"header p{margin:4px 0 0;color:#c3c8d4}"
	"main{padding:20px 32px;max-width:1500px}"
	".pill{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;"
	"font-weight:600;margin-right:6px}"
	".new{background:#fbe3e1;color:#a4281d}.old{background:#e6e8ee;color:#4a5163}"
	".merged{background:#e5ecfb;color:#234a9c}"
	".ok{background:#e0f3e6;color:#1d6b36;padding:14px 18px;border-radius:8px}"
	"nav ol{margin:6px 0 18px;padding-left:22px}nav a{color:#234a9c}"
	"section.finding{background:#fff;border-radius:8px;margin:0 0 22px;"
	"box-shadow:0 1px 3px rgba(0,0,0,.12);border-left:5px solid #c0392b;padding:16px 20px}"
	"section.finding.baselined{border-left-color:#9aa1b1}"
	"h2{margin:0 0 4px;font-size:17px}"
	"h2 code{font-size:14px;color:#a4281d;background:#fbe3e1;padding:1px 6px;border-radius:4px}"
	".meta{color:#5b6275;margin:2px 0 12px;font-size:13px}"
	".cycle{display:grid;grid-template-columns:520px 1fr;gap:20px;align-items:start}"
	"@media(max-width:900px){.cycle{grid-template-columns:1fr}}"
	"svg{background:#fafbfc;border:1px solid #e3e5ea;border-radius:6px;max-width:100%}"
	".dep{border:1px solid #e3e5ea;border-radius:6px;padding:8px 12px;margin-bottom:10px}"
	".dep.closing{border-color:#e8a29b;background:#fffafa}"
	".dep h3{margin:0;font-size:14px;font-family:ui-monospace,Menlo,Consolas,monospace}"
	".dep .who{color:#5b6275;font-size:12px;margin:2px 0 4px}"
	"ol.stack{margin:4px 0 0;padding-left:28px;"
	"font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}"
	"ol.stack li{margin:1px 0}.fn{font-weight:600}.mod{color:#7a8194}.src{color:#234a9c}"
	"h4{margin:14px 0 4px;font-size:13px;color:#4a5163}"
	"details.lib{margin:2px 0 0 28px;font-size:12px;color:#7a8194}"
	"details.lib ol.stack{padding-left:0}"
	".summary{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;"
	"background:#f6f7f9;border-radius:6px;padding:8px 12px;margin:12px 0 0;"
	"overflow-wrap:anywhere}"
	".help{margin:0 0 4px}.fix{margin:0 0 10px}"
	"pre.scenario{font:12.5px/1.35 ui-monospace,Menlo,Consolas,monospace;background:#f6f7f9;"
	"border-radius:6px;padding:8px 12px;margin:4px 0 0;overflow-x:auto}"
	"a.src{color:#234a9c}"
	".legend{color:#5b6275;font-size:12.5px;margin:0 0 16px}"
	".legend span{display:inline-block;width:12px;height:12px;border-radius:6px;"
	"border:1px solid #4a5163;vertical-align:-2px;margin:0 4px 0 10px}"
	"footer{color:#6c7386;font-size:12px;padding:0 32px 24px}"
	"footer li{font-family:ui-monospace,Menlo,Consolas,monospace}";

/* ---- stacks ---- */

static const struct render_opts *html_opts;

/* A path as a URL's path: unreserved characters and "/" as they are. */
static void put_url_path(FILE *out, const char *p)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/", c))
			fputc(c, out);
		else
			fprintf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

/*
 * The link of a frame's place, from --source-url: {path} is the file
 * under --srcroot (or a relative one as it is, when it does not climb
 * out with ".."), percent-encoded; {line}
 * its line.  Written into a buffer, then into the attribute escaped.
 * NULL when the frame has no such file.
 */
static char *source_link(const struct rframe *f)
{
	const char *t = html_opts ? html_opts->source_url : NULL, *rel;
	char *url = NULL;
	size_t len = 0;
	FILE *m;

	if (!t || !f->file || f->line <= 0)
		return NULL;
	rel = under_root(f->file, html_opts->srcroot);
	/* a relative path, unless it climbs out (glibc's ../sysdeps/...) */
	if (!rel && f->file[0] != '/' && strncmp(f->file, "../", 3) && !strstr(f->file, "/../"))
		rel = f->file;
	if (!rel || !*rel)
		return NULL;
	m = open_memstream(&url, &len);
	if (!m)
		return NULL;
	while (*t) {
		if (!strncmp(t, "{path}", 6)) {
			put_url_path(m, rel);
			t += 6;
		} else if (!strncmp(t, "{line}", 6)) {
			fprintf(m, "%ld", f->line);
			t += 6;
		} else {
			fputc(*t++, m);
		}
	}
	if (fclose(m)) {
		free(url);
		return NULL;
	}
	return url;
}

static void put_frame(FILE *out, const struct rframe *f, size_t i)
{
	char *link = source_link(f);

	fprintf(out, "<li value=\"%zu\"><span class=\"fn\">", i);
	esc(out, f->function ? f->function : "??");
	fputs("</span>", out);
	if (f->module) {
		fputs(" <span class=\"mod\">(", out);
		esc(out, f->module);
		fputc('+', out);
		esc(out, f->offset ? f->offset : "0x0");
		fputs(")</span>", out);
	}
	if (f->file) {
		if (link) {
			fputs(" <a class=\"src\" href=\"", out);
			esc(out, link);
			fputs("\">", out);
		} else {
			fputs(" <span class=\"src\">", out);
		}
		esc(out, f->file);
		if (f->line > 0)
			fprintf(out, ":%ld", f->line);
		fputs(link ? "</a>" : "</span>", out);
	}
	fputs("</li>\n", out);
	free(link);
}

/*
 * A frame of a library or of a system header (the C library, libstdc++,
 * std::mutex::lock() built into the program): folded, with the thread
 * start frames, below the program's own.
 */
static bool frame_library(const struct rframe *f)
{
	const char *m = f->module, *file = f->file;

	if (frame_hidden(f))
		return true;
	if (frame_in_system_header(file))
		return true;
	return m && (!strncmp(m, "/usr/lib/", 9) || !strncmp(m, "/lib/", 5) ||
		     !strncmp(m, "/usr/lib64/", 11) || !strncmp(m, "/lib64/", 7));
}

/* The program's frames; the library and thread start frames folded below
 * them (all shown when none is the program's). */
static void put_stack(FILE *out, const struct rstack *s)
{
	size_t i, folded = 0, start = 0;

	if (!s->n) {
		fputs("<p class=\"who\">(no stack recorded)</p>\n", out);
		return;
	}
	for (i = 0; i < s->n; i++) {
		if (frame_library(&s->frames[i]))
			folded++;
		if (frame_hidden(&s->frames[i]))
			start++;
	}
	if (folded == s->n) /* nothing of the program's: fold the start frames only */
		folded = start;
	fputs("<ol class=\"stack\" start=\"0\">\n", out);
	for (i = 0; i < s->n; i++)
		if (folded == start ? !frame_hidden(&s->frames[i]) : !frame_library(&s->frames[i]))
			put_frame(out, &s->frames[i], i);
	fputs("</ol>\n", out);
	if (!folded)
		return;
	if (folded == start)
		fprintf(out, "<details class=\"lib\"><summary>%zu thread start frame%s "
			     "(fencedep, libc)</summary><ol class=\"stack\">\n",
			folded, folded == 1 ? "" : "s");
	else
		fprintf(out, "<details class=\"lib\"><summary>%zu library and thread start "
			     "frame%s</summary><ol class=\"stack\">\n",
			folded, folded == 1 ? "" : "s");
	for (i = 0; i < s->n; i++)
		if (folded == start ? frame_hidden(&s->frames[i]) : frame_library(&s->frames[i]))
			put_frame(out, &s->frames[i], i);
	fputs("</ol></details>\n", out);
}

/* ---- the cycle as a picture ---- */

/*
 * Did dependency k close the cycle?  A process stores the acquisition
 * that closed it first; a primed order was never acquired, and a cycle
 * found by merging was closed by no one.
 */
static bool closes(const struct rfinding *f, size_t k)
{
	return k == 0 && !f->merged && !f->cycle[0].primed;
}

struct pt {
	double x, y;
};

/*
 * Enough trigonometry to draw with, so that the command needs no libm:
 * sine by its Taylor series on [-pi, pi], square root by Newton's method.
 */
#define PI 3.14159265358979323846

static double draw_sin(double a)
{
	double term, sum;
	int i;

	while (a > PI)
		a -= 2 * PI;
	while (a < -PI)
		a += 2 * PI;
	term = sum = a;
	for (i = 1; i < 12; i++) {
		term *= -a * a / ((2 * i) * (2 * i + 1));
		sum += term;
	}
	return sum;
}

static double draw_cos(double a)
{
	return draw_sin(a + PI / 2);
}

static double draw_sqrt(double v)
{
	double x = v > 1 ? v : 1;
	int i;

	if (v <= 0)
		return 0;
	for (i = 0; i < 60; i++)
		x = (x + v / x) / 2;
	return x;
}

static struct pt node_pos(size_t k, size_t n)
{
	double a = 2 * PI * (double)k / (double)n;
	struct pt p = { SVG_W / 2.0 + RING_R * draw_sin(a),
			SVG_H / 2.0 - RING_R * draw_cos(a) };

	return p;
}

static const char *node_fill(const char *kind)
{
	if (!strcmp(kind, "fence"))
		return "#fde3c2";
	if (!strcmp(kind, "reclaim") || !strcmp(kind, "mmu_notifier"))
		return "#d4e7f7";
	return "#eceef3";
}

static struct pt toward(struct pt from, struct pt to, double dist)
{
	double dx = to.x - from.x, dy = to.y - from.y;
	double len = draw_sqrt(dx * dx + dy * dy);
	struct pt p = from;

	if (len > 0) {
		p.x += dx / len * dist;
		p.y += dy / len * dist;
	}
	return p;
}

/*
 * Edge k runs from node k to node k+1 as a quadratic curve bent outwards
 * (to the left of its direction, the ring being drawn clockwise), so that
 * the two arrows of a two-class cycle do not overlap.
 */
static void put_arrow(FILE *out, const struct redge *e, size_t k, size_t n,
		      bool closing)
{
	struct pt a = node_pos(k, n), b = node_pos((k + 1) % n, n), c, s, t;
	double dx = b.x - a.x, dy = b.y - a.y, len = draw_sqrt(dx * dx + dy * dy);
	double bend = n == 2 ? 45 : 0.22 * len;
	const char *color = closing ? "#c0392b" : "#4a5163";

	c.x = (a.x + b.x) / 2 + dy / len * bend;
	c.y = (a.y + b.y) / 2 - dx / len * bend;
	s = toward(a, c, NODE_R + 2);
	t = toward(b, c, NODE_R + 4);
	fprintf(out, "<path d=\"M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f\" fill=\"none\" "
		     "stroke=\"%s\" stroke-width=\"%s\"%s marker-end=\"url(#%s)\"><title>",
		s.x, s.y, c.x, c.y, t.x, t.y, color, closing ? "2.6" : "1.8",
		e->primed ? " stroke-dasharray=\"5 4\"" : "",
		closing ? "ah-red" : "ah");
	esc(out, e->from);
	fprintf(out, " -(%s)-&gt; ", e->type);
	esc(out, e->to);
	fputs("</title></path>\n", out);
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		     "font-size=\"11\" font-family=\"monospace\" fill=\"%s\" "
		     "stroke=\"#fafbfc\" stroke-width=\"4\" paint-order=\"stroke\">%s</text>\n",
		0.25 * s.x + 0.5 * c.x + 0.25 * t.x,
		0.25 * s.y + 0.5 * c.y + 0.25 * t.y + 4, color, e->type);
}

/* Short enough to fit in a node's circle. */
static const char *kind_abbrev(const char *kind)
{
	return strcmp(kind, "mmu_notifier") ? kind : "notifier";
}

/*
 * A class: a circle filled by its kind, the name above it in the upper
 * half of the ring and below it elsewhere, centred so that long names
 * stay inside the picture.
 */
static void put_node(FILE *out, const struct report *r, const char *name,
		     size_t k, size_t n)
{
	struct pt p = node_pos(k, n);
	const char *kind = class_kind(r, name);
	bool above = p.y < SVG_H / 2.0 - RING_R / 2.0;
	double ly = above ? p.y - NODE_R - 8 : p.y + NODE_R + 17;

	fprintf(out, "<g><title>");
	esc(out, name);
	fputs(" (", out);
	esc(out, kind);
	fprintf(out, ")</title><circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" "
		     "fill=\"%s\" stroke=\"#4a5163\" stroke-width=\"1.5\"/>\n",
		p.x, p.y, NODE_R, node_fill(kind));
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		     "font-size=\"10\" fill=\"#4a5163\">", p.x, p.y + 4);
	esc(out, kind_abbrev(kind));
	fprintf(out, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		     "font-size=\"12\" font-weight=\"600\" fill=\"#1d2330\" "
		     "stroke=\"#fafbfc\" stroke-width=\"4\" paint-order=\"stroke\">",
		p.x, ly);
	esc_short(out, name, LABEL_MAX);
	fputs("</text></g>\n", out);
}

static void put_svg(FILE *out, const struct report *r, const struct rfinding *f)
{
	size_t k;

	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		     "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n"
		     "<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
		     "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
		     "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#4a5163\"/></marker>"
		     "<marker id=\"ah-red\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
		     "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
		     "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c0392b\"/></marker></defs>\n",
		SVG_W, SVG_H, SVG_W, SVG_H);
	for (k = 0; k < f->ncycle; k++)
		put_arrow(out, &f->cycle[k], k, f->ncycle, closes(f, k));
	for (k = 0; k < f->ncycle; k++)
		put_node(out, r, f->cycle[k].from, k, f->ncycle);
	fputs("</svg>\n", out);
}

/* ---- findings ---- */

static void put_dep(FILE *out, const struct rfinding *f, size_t k)
{
	const struct redge *e = &f->cycle[k];
	char buf[512];

	fprintf(out, "<div class=\"dep%s\"><h3>", closes(f, k) ? " closing" : "");
	esc(out, e->from);
	fprintf(out, " -(%s)-&gt; ", e->type);
	esc(out, e->to);
	fputs("</h3>\n<p class=\"who\">", out);
	esc(out, e->to);
	fputs(" acquired while holding ", out);
	esc(out, e->from);
	if (e->primed)
		fputs(" (primed order)", out);
	if (e->proc) {
		proc_describe(e->proc, buf, sizeof(buf));
		fputs(" &middot; ", out);
		esc(out, buf);
	}
	if (closes(f, k))
		fputs(" &middot; <b>closes the cycle</b>", out);
	fputs("</p>\n", out);
	put_stack(out, &e->stack);
	fputs("</div>\n", out);
}

static void put_meta(FILE *out, const struct rfinding *f)
{
	char buf[512];

	fprintf(out, "<p class=\"meta\"><span class=\"pill %s\">%s</span>",
		f->baselined ? "old" : "new", f->baselined ? "in baseline" : "new");
	if (f->merged)
		fputs("<span class=\"pill merged\">across processes</span>", out);
	fprintf(out, "fingerprint <code>%s</code> &middot; seen %ld time%s", f->fp,
		f->count, f->count == 1 ? "" : "s");
	if (!f->merged) {
		proc_describe(f->proc, buf, sizeof(buf));
		fputs(" &middot; ", out);
		esc(out, buf);
		if (f->has_thread) {
			fprintf(out, " &middot; thread %ld ", f->tid);
			esc(out, f->thread_name);
		}
	} else {
		fprintf(out, " &middot; found by merging %zu processes; no single "
			     "process saw this cycle", f->nprocs);
	}
	fputs("</p>\n", out);
}

static void put_held(FILE *out, const struct rfinding *f)
{
	size_t i;

	if (!f->nheld)
		return;
	fputs("<h4>Locks held</h4>\n", out);
	for (i = 0; i < f->nheld; i++) {
		fputs("<div class=\"dep\"><h3>", out);
		esc(out, f->held[i].cls);
		fputs(" <span class=\"mod\">(", out);
		esc(out, f->held[i].mode ? f->held[i].mode : "exclusive");
		fputs(")</span></h3>\n", out);
		put_stack(out, &f->held[i].stack);
		fputs("</div>\n", out);
	}
}

/* The text report's scenario: one column per thread, to the deadlock. */
static void put_scenario(FILE *out, const struct report *r, const struct rfinding *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (f->ncycle < 2 || !(m = open_memstream(&text, &len)))
		return;
	text_scenario(m, r, f);
	if (!fclose(m) && text && len) {
		/* its own heading; the text's first lines are blank and a title */
		const char *body = strstr(text, "scenario:\n\n");
		fputs("<h4>Possible unsafe scenario</h4>\n<pre class=\"scenario\">", out);
		esc(out, body ? body + 11 : text);
		fputs("</pre>\n", out);
	}
	free(text);
}

static void put_finding(FILE *out, const struct report *r,
			const struct rfinding *f, size_t id)
{
	const struct kind_info *info = kind_lookup(f->kind);
	char buf[2048];
	size_t k;

	fprintf(out, "<section class=\"finding%s\" id=\"f%zu\">\n<h2><code>",
		f->baselined ? " baselined" : "", id);
	esc(out, f->kind);
	fputs("</code> ", out);
	esc(out, f->title);
	fputs("</h2>\n", out);
	put_meta(out, f);
	if (info) {
		fputs("<p class=\"help\">", out);
		esc(out, info->help);
		fputs("</p>\n<p class=\"fix\"><b>How to fix:</b> ", out);
		esc(out, info->fix);
		fputs("</p>\n", out);
	}
	if (f->ncycle) {
		fputs("<div class=\"cycle\"><div>", out);
		put_svg(out, r, f);
		fputs("</div><div>\n", out);
		for (k = 0; k < f->ncycle; k++)
			put_dep(out, f, k);
		fputs("</div></div>\n", out);
	}
	put_held(out, f);
	put_scenario(out, r, f);
	if (f->stack.n && !f->merged) {
		fputs("<h4>Stack</h4>\n", out);
		put_stack(out, &f->stack);
	}
	finding_summary(f, buf, sizeof(buf));
	fputs("<p class=\"summary\">", out);
	esc(out, buf);
	fputs("<br>suppress it with the line: ", out);
	esc(out, f->kind);
	fprintf(out, ":fingerprint:%s</p>\n</section>\n", f->fp);
}

static void put_toc(FILE *out, const struct report *r)
{
	size_t i;

	fputs("<nav><ol>\n", out);
	for (i = 0; i < r->nfindings; i++) {
		const struct rfinding *f = &r->findings[i];

		if (!finding_shown(f))
			continue;
		fprintf(out, "<li><a href=\"#f%zu\"><code>", i);
		esc(out, f->kind);
		fputs("</code></a> ", out);
		esc(out, f->title);
		if (!f->baselined)
			fputs(" <span class=\"pill new\">new</span>", out);
		fputs("</li>\n", out);
	}
	fputs("</ol></nav>\n", out);
}

static void put_footer(FILE *out, const struct report *r)
{
	char buf[512];
	size_t i;

	fputs("<footer><p>Reports read:</p><ul>\n", out);
	for (i = 0; i < r->nprocs; i++) {
		const struct rproc *p = r->procs[i];
		int k;

		proc_describe(p, buf, sizeof(buf));
		fputs("<li>", out);
		esc(out, buf);
		for (k = 0; k < NSTATS; k++)
			fprintf(out, "%s%s %ld", k ? ", " : ": ", report_stat_names[k],
				p->stats[k]);
		fputs("</li>\n", out);
	}
	fprintf(out, "</ul><p>fencedep %s</p></footer>\n", PACKAGE_VERSION);
}

int render_html(FILE *out, const struct report *r, const struct render_opts *o)
{
	size_t i, shown = r->nfindings - r->nsuppressed;

	html_opts = o;
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		     "<title>fencedep report: %zu new finding%s</title>\n<style>%s</style>"
		     "</head>\n<body>\n<header><h1>fencedep report</h1>\n"
		     "<p>%zu finding%s: %zu new, %zu in the baseline, %zu suppressed "
		     "&middot; %zu report%s merged &middot; %zu classes, %zu dependencies</p>"
		     "</header>\n<main>\n",
		r->nnew, r->nnew == 1 ? "" : "s", css, shown, shown == 1 ? "" : "s",
		r->nnew, r->nbaselined, r->nsuppressed, r->nprocs,
		r->nprocs == 1 ? "" : "s", r->graph.nclasses, r->graph.nedges);
	if (!shown)
		fputs("<p class=\"ok\">No findings: no possible deadlock in the "
		      "merged graph.</p>\n", out);
	else
		put_toc(out, r);
	if (shown)
		fputs("<p class=\"legend\">Classes:<span style=\"background:#eceef3\"></span>lock"
		      "<span style=\"background:#fde3c2\"></span>fence"
		      "<span style=\"background:#d4e7f7\"></span>reclaim or notifier"
		      " &middot; A -(XY)-&gt; B: B taken while A held; X how A is held "
		      "(E exclusive, S shared), Y how B is taken (R recursive read, N otherwise)"
		      " &middot; the red arrow closed the cycle; a dashed one is a primed "
		      "(documented) order</p>\n", out);
	for (i = 0; i < r->nfindings; i++)
		if (finding_shown(&r->findings[i]))
			put_finding(out, r, &r->findings[i], i);
	fputs("</main>\n", out);
	put_footer(out, r);
	fputs("</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
