/*
 * suppress.c - parse suppression files and match findings against them
 * (see suppress.h).  No stdio, no malloc: the runtime uses it too.
 */
#include "suppress.h"

const char *const suppress_kinds[] = {
	"lock-order-inversion",
	"alloc-in-signalling-path",
	"fence-lock-inversion",
	"reclaim-lock-inversion",
	"recursive-locking",
	"fence-self-wait",
	"unpublished-fence-wait",
	"fence-double-signal",
	"fence-never-signalled",
	"invalid-wait-context",
	"ww-protocol-violation",
	"bad-unlock-balance",
	"held-lock-freed",
	"lock-held-at-thread-exit",
	"assertion-failed",
	"hang",
	NULL,
};

static size_t str_len(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return p - s;
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static bool mem_eq(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

bool suppress_kind_known(const char *kind, size_t len)
{
	size_t i;

	for (i = 0; suppress_kinds[i]; i++)
		if (str_len(suppress_kinds[i]) == len &&
		    mem_eq(suppress_kinds[i], kind, len))
			return true;
	return false;
}

/* ---- glob ---- */

/*
 * Match one bracket expression at *pp against c.  Returns 1 on a match, 0
 * on none, -1 when the expression is not terminated; advances *pp past it.
 */
static int glob_bracket(const char **pp, unsigned char c)
{
	const char *p = *pp + 1;
	bool negate = false, found = false;

	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	if (*p == ']') {		/* a leading ']' is literal */
		found = c == ']';
		p++;
	}
	while (*p && *p != ']') {
		unsigned char lo = (unsigned char)*p, hi = lo;

		if (*p == '\\' && p[1])
			lo = hi = (unsigned char)*++p;
		p++;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			if (*p == '\\' && p[1])
				p++;
			hi = (unsigned char)*p++;
		}
		if (c >= lo && c <= hi)
			found = true;
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return found != negate;
}

/*
 * Match one non-star pattern element at *pp against c: 1, 0, or -1 for a
 * malformed pattern.  Advances *pp.
 */
static int glob_one(const char **pp, unsigned char c)
{
	const char *p = *pp;

	switch (*p) {
	case '?':
		*pp = p + 1;
		return 1;
	case '[':
		return glob_bracket(pp, c);
	case '\\':
		if (p[1])
			p++;
		/* fall through */
	default:
		*pp = p + 1;
		return (unsigned char)*p == c;
	}
}

/*
 * The classic one-star backtracking matcher: on a mismatch, retry from the
 * last "*" with one more character consumed by it.  Linear in practice,
 * never exponential.
 */
static int glob_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	int r;

	while (*s) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		r = *p ? glob_one(&p, (unsigned char)*s) : 0;
		if (r < 0)
			return -1;
		if (r) {
			s++;
			continue;
		}
		if (!star_p)
			return 0;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool suppress_glob(const char *pattern, const char *s)
{
	return glob_match(pattern, s) == 1;
}

/* ---- parsing ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

struct span {
	const char *s;
	size_t len;
};

static struct span trim(const char *s, size_t len)
{
	struct span sp;

	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	sp.s = s;
	sp.len = len;
	return sp;
}

static void set_error(struct suppress_error *err, unsigned line,
		      const char *what, struct span quoted)
{
	size_t i = 0, k;

	err->line = line;
	for (k = 0; what[k] && i < sizeof(err->msg) - 1; k++)
		err->msg[i++] = what[k];
	if (quoted.s) {
		if (i < sizeof(err->msg) - 1)
			err->msg[i++] = '\'';
		for (k = 0; k < quoted.len && i < sizeof(err->msg) - 2; k++)
			err->msg[i++] = quoted.s[k];
		err->msg[i++] = '\'';
	}
	err->msg[i] = '\0';
}

/* Split a non-blank, non-comment line into kind and pattern; check both. */
static int parse_rule(struct span line, unsigned lineno, struct span *kind,
		      struct span *pat, struct suppress_error *err)
{
	static const struct span none = { 0, 0 };
	size_t colon;

	for (colon = 0; colon < line.len && line.s[colon] != ':'; colon++)
		;
	if (colon == line.len) {
		set_error(err, lineno, "expected kind:pattern, got ", line);
		return -1;
	}
	*kind = trim(line.s, colon);
	*pat = trim(line.s + colon + 1, line.len - colon - 1);
	if (!(kind->len == 1 && kind->s[0] == '*') &&
	    !suppress_kind_known(kind->s, kind->len)) {
		set_error(err, lineno, "unknown finding kind ", *kind);
		return -1;
	}
	if (!pat->len) {
		set_error(err, lineno, "empty pattern", none);
		return -1;
	}
	return 0;
}

static bool pattern_valid(struct span pat)
{
	size_t i;

	for (i = 0; i < pat.len; i++) {
		if (pat.s[i] == '\\' && i + 1 < pat.len) {
			i++;
		} else if (pat.s[i] == '[') {
			size_t j = i + 1;

			if (j < pat.len && (pat.s[j] == '!' || pat.s[j] == '^'))
				j++;
			if (j < pat.len && pat.s[j] == ']')
				j++;
			while (j < pat.len && pat.s[j] != ']')
				j += pat.s[j] == '\\' ? 2 : 1;
			if (j >= pat.len)
				return false;
			i = j;
		}
	}
	return true;
}

static char *copy_str(char *dst, struct span sp)
{
	size_t i;

	for (i = 0; i < sp.len; i++)
		dst[i] = sp.s[i];
	dst[sp.len] = '\0';
	return dst + sp.len + 1;
}

static void store_rule(struct suppress_rule *r, unsigned lineno,
		       struct span kind, struct span pat, char **str)
{
	r->line = lineno;
	r->kind = NULL;
	if (!(kind.len == 1 && kind.s[0] == '*')) {
		r->kind = *str;
		*str = copy_str(*str, kind);
	}
	r->pattern = *str;
	*str = copy_str(*str, pat);
}

/*
 * Walk the lines of buf.  The first walk (rules NULL) checks every line and
 * counts the rules; the second stores them, with their strings in str.
 * Kind and pattern of a line, each NUL-terminated, never take more bytes
 * than the line and its newline, so len + 1 bytes hold every string.
 */
static int parse_lines(const char *buf, size_t len, struct suppress_rule *rules,
		       char *str, size_t *count, struct suppress_error *err)
{
	struct span line, kind, pat;
	size_t pos = 0, end, n = 0;
	unsigned lineno = 0;

	while (pos < len) {
		for (end = pos; end < len && buf[end] != '\n'; end++)
			;
		lineno++;
		line = trim(buf + pos, end - pos);
		pos = end + 1;
		if (!line.len || line.s[0] == '#')
			continue;
		if (parse_rule(line, lineno, &kind, &pat, err))
			return -1;
		if (!pattern_valid(pat)) {
			set_error(err, lineno, "unterminated [ in pattern ", pat);
			return -1;
		}
		if (rules)
			store_rule(&rules[n], lineno, kind, pat, &str);
		n++;
	}
	*count = n;
	return 0;
}

int suppress_parse(const char *buf, size_t len, void *(*alloc)(size_t),
		   struct suppress_set *set, struct suppress_error *err)
{
	static const struct span none = { 0, 0 };
	size_t n, i;
	char *mem;

	set->rules = NULL;
	set->n = 0;
	set->mem = NULL;
	err->line = 0;
	err->msg[0] = '\0';
	for (i = 0; i < len; i++) {
		if (buf[i] == '\0') {
			set_error(err, 0, "NUL byte in file", none);
			return -1;
		}
	}
	if (parse_lines(buf, len, NULL, NULL, &n, err))
		return -1;
	mem = alloc(n * sizeof(struct suppress_rule) + len + 1);
	if (!mem) {
		set_error(err, 0, "out of memory", none);
		return -1;
	}
	set->mem = mem;
	set->rules = (struct suppress_rule *)mem;
	parse_lines(buf, len, set->rules, mem + n * sizeof(struct suppress_rule),
		    &set->n, err);
	return 0;
}

/* ---- matching ---- */

static const char *last_component(const char *s)
{
	const char *base = NULL;

	for (; *s; s++)
		if (*s == '/')
			base = s + 1;
	return base;
}

static bool rule_matches_string(const struct suppress_rule *r, const char *s)
{
	const char *base;

	if (suppress_glob(r->pattern, s))
		return true;
	base = last_component(s);
	return base && *base && suppress_glob(r->pattern, base);
}

const struct suppress_rule *suppress_match(const struct suppress_set *set,
					   const char *kind,
					   const char *const *strings, size_t n)
{
	size_t i, k;

	for (i = 0; i < set->n; i++) {
		const struct suppress_rule *r = &set->rules[i];

		if (r->kind && (!kind || !str_eq(r->kind, kind)))
			continue;
		for (k = 0; k < n; k++)
			if (strings[k] && rule_matches_string(r, strings[k]))
				return r;
	}
	return NULL;
}
