/*
 * json.c - a small JSON reader (see json.h).
 *
 * A recursive-descent parser over a byte buffer.  Raw newlines can only
 * appear between tokens, so the line count is kept by the blank skipper and
 * every error can name its line and column.
 */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *text;
	size_t len, pos;
	unsigned line;
	size_t line_start;
	int depth;
	struct json_error *err;
};

static unsigned column(const struct parser *p, size_t pos)
{
	return (unsigned)(pos - p->line_start + 1);
}

static void *fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->err->msg[0])
		return NULL;
	p->err->line = p->line;
	p->err->col = column(p, pos);
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return NULL;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static void skip_blanks(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];

		if (c == '\n') {
			p->line++;
			p->line_start = p->pos + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			return;
		}
		p->pos++;
	}
}

/* Describe the character at pos for an error message. */
static const char *what_is_at(const struct parser *p, size_t pos, char buf[32])
{
	unsigned char c;

	if (pos >= p->len)
		return "end of input";
	c = (unsigned char)p->text[pos];
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 32, "'%c'", c);
	else
		snprintf(buf, 32, "byte 0x%02x", c);
	return buf;
}

static void *unexpected(struct parser *p, const char *wanted)
{
	char buf[32];

	return fail_at(p, p->pos, "expected %s, found %s", wanted,
		       what_is_at(p, p->pos, buf));
}

static struct json_value *new_value(struct parser *p, enum json_type type)
{
	struct json_value *v = calloc(1, sizeof(*v));

	if (!v)
		return fail_at(p, p->pos, "out of memory");
	v->type = type;
	v->line = p->line;
	v->col = column(p, p->pos);
	return v;
}

static struct json_value *parse_value(struct parser *p);

/* ---- literals and numbers ---- */

static struct json_value *parse_word(struct parser *p, const char *word,
				     enum json_type type, bool b)
{
	size_t n = strlen(word);
	struct json_value *v;

	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n))
		return unexpected(p, "a JSON value");
	v = new_value(p, type);
	if (v)
		v->boolean = b;
	p->pos += n;
	return v;
}

static size_t skip_digits(const struct parser *p, size_t i)
{
	while (i < p->len && p->text[i] >= '0' && p->text[i] <= '9')
		i++;
	return i;
}

/* The end of the number at p->pos by the JSON grammar, or 0 if malformed. */
static size_t number_end(struct parser *p, bool *integral)
{
	size_t i = p->pos, start;

	*integral = true;
	if (i < p->len && p->text[i] == '-')
		i++;
	if (i < p->len && p->text[i] == '0')
		i++;
	else if (i < p->len && p->text[i] >= '1' && p->text[i] <= '9')
		i = skip_digits(p, i);
	else {
		fail_at(p, i, "malformed number: digit expected");
		return 0;
	}
	if (i < p->len && p->text[i] == '.') {
		*integral = false;
		start = ++i;
		i = skip_digits(p, i);
		if (i == start) {
			fail_at(p, i, "malformed number: digit expected after '.'");
			return 0;
		}
	}
	if (i < p->len && (p->text[i] == 'e' || p->text[i] == 'E')) {
		*integral = false;
		i++;
		if (i < p->len && (p->text[i] == '+' || p->text[i] == '-'))
			i++;
		start = i;
		i = skip_digits(p, i);
		if (i == start) {
			fail_at(p, i, "malformed number: digit expected in exponent");
			return 0;
		}
	}
	return i;
}

static struct json_value *parse_number(struct parser *p)
{
	char buf[64];
	bool integral;
	size_t end = number_end(p, &integral), n;
	struct json_value *v;

	if (!end)
		return NULL;
	n = end - p->pos;
	if (n >= sizeof(buf))
		integral = false;
	v = new_value(p, JSON_NUMBER);
	if (!v)
		return NULL;
	if (n < sizeof(buf)) {
		memcpy(buf, p->text + p->pos, n);
		buf[n] = '\0';
		v->num = strtod(buf, NULL);
		if (integral) {
			errno = 0;
			v->inum = strtoll(buf, NULL, 10);
			v->integral = errno == 0;
		}
	} else {
		char *tmp = strndup(p->text + p->pos, n);

		v->num = tmp ? strtod(tmp, NULL) : 0;
		free(tmp);
	}
	p->pos = end;
	return v;
}

/* ---- strings ---- */

struct strbuf {
	char *s;
	size_t len, cap;
};

static bool sb_put(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		char *ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns)
			return false;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at i, or -1. */
static long hex4(const struct parser *p, size_t i)
{
	long v = 0;
	int k;

	if (i > p->len || p->len - i < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		char c = p->text[i + k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* A \u escape at p->pos (on the backslash), with its low surrogate. */
static bool parse_unicode(struct parser *p, struct strbuf *b)
{
	size_t at = p->pos;
	long hi = hex4(p, at + 2), lo;
	uint32_t cp;
	char out[4];

	if (hi < 0) {
		fail_at(p, at, "bad \\u escape: four hex digits expected");
		return false;
	}
	p->pos += 6;
	cp = (uint32_t)hi;
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		fail_at(p, at, "lone low surrogate \\u%04lx", hi);
		return false;
	}
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (p->len - p->pos < 6 || p->text[p->pos] != '\\' ||
		    p->text[p->pos + 1] != 'u') {
			fail_at(p, at, "high surrogate \\u%04lx without its low "
				"surrogate", hi);
			return false;
		}
		lo = hex4(p, p->pos + 2);
		if (lo < 0xdc00 || lo > 0xdfff) {
			fail_at(p, p->pos, "high surrogate \\u%04lx not followed "
				"by a low surrogate", hi);
			return false;
		}
		cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
		p->pos += 6;
	}
	if (!sb_put(b, out, utf8_encode(cp, out))) {
		fail_at(p, at, "out of memory");
		return false;
	}
	return true;
}

static bool parse_escape(struct parser *p, struct strbuf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	char c;

	if (p->pos + 1 >= p->len) {
		fail_at(p, p->pos, "unterminated string");
		return false;
	}
	c = p->text[p->pos + 1];
	if (c == 'u')
		return parse_unicode(p, b);
	e = c ? strchr(from, c) : NULL;
	if (!e) {
		fail_at(p, p->pos, "bad escape sequence");
		return false;
	}
	if (!sb_put(b, &to[e - from], 1)) {
		fail_at(p, p->pos, "out of memory");
		return false;
	}
	p->pos += 2;
	return true;
}

/* A run of ordinary characters up to a quote, a backslash or the end. */
static bool parse_run(struct parser *p, struct strbuf *b)
{
	size_t start = p->pos;
	unsigned char c;

	while (p->pos < p->len) {
		c = (unsigned char)p->text[p->pos];
		if (c == '"' || c == '\\')
			break;
		if (c < 0x20) {
			fail_at(p, p->pos, "control character 0x%02x in string", c);
			return false;
		}
		p->pos++;
	}
	if (!sb_put(b, p->text + start, p->pos - start)) {
		fail_at(p, start, "out of memory");
		return false;
	}
	return true;
}

/* The string at p->pos (on its opening quote); returns its bytes. */
static char *parse_chars(struct parser *p, size_t *len)
{
	struct strbuf b = { 0 };
	size_t open = p->pos;

	p->pos++;
	if (!sb_put(&b, "", 0))
		return fail_at(p, open, "out of memory");
	for (;;) {
		if (!parse_run(p, &b))
			goto bad;
		if (p->pos >= p->len) {
			fail_at(p, open, "unterminated string");
			goto bad;
		}
		if (p->text[p->pos] == '"')
			break;
		if (!parse_escape(p, &b))
			goto bad;
	}
	p->pos++;
	*len = b.len;
	return b.s;
bad:
	free(b.s);
	return NULL;
}

static struct json_value *parse_string(struct parser *p)
{
	struct json_value *v = new_value(p, JSON_STRING);

	if (!v)
		return NULL;
	v->str = parse_chars(p, &v->len);
	if (!v->str) {
		free(v);
		return NULL;
	}
	return v;
}

/* ---- arrays and objects ---- */

static bool grow(void **items, size_t n, size_t *cap, size_t size)
{
	void *ni;

	if (n < *cap)
		return true;
	*cap = *cap ? *cap * 2 : 4;
	ni = realloc(*items, *cap * size);
	if (!ni)
		return false;
	*items = ni;
	return true;
}

static bool array_push(struct parser *p, struct json_value *a,
		       struct json_value *item, size_t *cap)
{
	void *items = a->array.items;

	if (!grow(&items, a->array.n, cap, sizeof(item))) {
		json_free(item);
		fail_at(p, p->pos, "out of memory");
		return false;
	}
	a->array.items = items;
	a->array.items[a->array.n++] = item;
	return true;
}

static struct json_value *parse_array(struct parser *p)
{
	struct json_value *a = new_value(p, JSON_ARRAY), *item;
	size_t cap = 0;

	if (!a)
		return NULL;
	p->pos++;
	skip_blanks(p);
	if (peek(p) == ']') {
		p->pos++;
		return a;
	}
	for (;;) {
		item = parse_value(p);
		if (!item || !array_push(p, a, item, &cap))
			break;
		skip_blanks(p);
		if (peek(p) == ']') {
			p->pos++;
			return a;
		}
		if (peek(p) != ',') {
			unexpected(p, "',' or ']' in array");
			break;
		}
		p->pos++;
		skip_blanks(p);
	}
	json_free(a);
	return NULL;
}

static bool object_push(struct parser *p, struct json_value *o, char *key,
			struct json_value *value, size_t *cap)
{
	void *members = o->object.members;
	struct json_member *m;

	if (!grow(&members, o->object.n, cap, sizeof(*m))) {
		free(key);
		json_free(value);
		fail_at(p, p->pos, "out of memory");
		return false;
	}
	o->object.members = members;
	m = &o->object.members[o->object.n++];
	m->key = key;
	m->value = value;
	return true;
}

/* One "key": value member; false with the error set. */
static bool parse_member(struct parser *p, struct json_value *o, size_t *cap)
{
	struct json_value *value;
	size_t klen;
	char *key;

	if (peek(p) != '"') {
		unexpected(p, "a string key in object");
		return false;
	}
	key = parse_chars(p, &klen);
	if (!key)
		return false;
	skip_blanks(p);
	if (peek(p) != ':') {
		free(key);
		unexpected(p, "':' after object key");
		return false;
	}
	p->pos++;
	skip_blanks(p);
	value = parse_value(p);
	if (!value) {
		free(key);
		return false;
	}
	return object_push(p, o, key, value, cap);
}

static struct json_value *parse_object(struct parser *p)
{
	struct json_value *o = new_value(p, JSON_OBJECT);
	size_t cap = 0;

	if (!o)
		return NULL;
	p->pos++;
	skip_blanks(p);
	if (peek(p) == '}') {
		p->pos++;
		return o;
	}
	for (;;) {
		if (!parse_member(p, o, &cap))
			break;
		skip_blanks(p);
		if (peek(p) == '}') {
			p->pos++;
			return o;
		}
		if (peek(p) != ',') {
			unexpected(p, "',' or '}' in object");
			break;
		}
		p->pos++;
		skip_blanks(p);
	}
	json_free(o);
	return NULL;
}

static struct json_value *parse_nested(struct parser *p,
				       struct json_value *(*fn)(struct parser *))
{
	struct json_value *v;

	if (p->depth >= JSON_MAX_DEPTH)
		return fail_at(p, p->pos, "nesting deeper than %d", JSON_MAX_DEPTH);
	p->depth++;
	v = fn(p);
	p->depth--;
	return v;
}

static struct json_value *parse_value(struct parser *p)
{
	switch (peek(p)) {
	case '{':
		return parse_nested(p, parse_object);
	case '[':
		return parse_nested(p, parse_array);
	case '"':
		return parse_string(p);
	case 't':
		return parse_word(p, "true", JSON_BOOL, true);
	case 'f':
		return parse_word(p, "false", JSON_BOOL, false);
	case 'n':
		return parse_word(p, "null", JSON_NULL, false);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_number(p);
	default:
		return unexpected(p, "a JSON value");
	}
}

/* Position the parser at byte pos, counting the lines before it. */
static void seek(struct parser *p, size_t pos)
{
	size_t i;

	p->line = 1;
	p->line_start = 0;
	for (i = 0; i < pos && i < p->len; i++) {
		if (p->text[i] == '\n') {
			p->line++;
			p->line_start = i + 1;
		}
	}
	p->pos = pos;
}

struct json_value *json_parse_next(const char *text, size_t len, size_t *pos,
				   struct json_error *err)
{
	struct parser p = { .text = text, .len = len, .err = err };
	struct json_value *v;

	err->line = err->col = 0;
	err->msg[0] = '\0';
	seek(&p, *pos);
	if (p.pos == 0 && len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		p.pos = p.line_start = 3;	/* a UTF-8 byte order mark */
	skip_blanks(&p);
	if (p.pos >= len)
		return fail_at(&p, p.pos, "empty input: a JSON value expected");
	v = parse_value(&p);
	if (!v)
		return NULL;
	skip_blanks(&p);
	*pos = p.pos;
	return v;
}

struct json_value *json_parse(const char *text, size_t len,
			      struct json_error *err)
{
	struct parser p = { .text = text, .len = len, .err = err };
	struct json_value *v;
	size_t pos = 0;

	v = json_parse_next(text, len, &pos, err);
	if (!v || pos == len)
		return v;
	seek(&p, pos);
	unexpected(&p, "end of input after the JSON value");
	json_free(v);
	return NULL;
}

void json_free(struct json_value *v)
{
	size_t i;

	if (!v)
		return;
	switch (v->type) {
	case JSON_STRING:
		free(v->str);
		break;
	case JSON_ARRAY:
		for (i = 0; i < v->array.n; i++)
			json_free(v->array.items[i]);
		free(v->array.items);
		break;
	case JSON_OBJECT:
		for (i = 0; i < v->object.n; i++) {
			free(v->object.members[i].key);
			json_free(v->object.members[i].value);
		}
		free(v->object.members);
		break;
	default:
		break;
	}
	free(v);
}

struct json_value *json_get(const struct json_value *v, const char *key)
{
	size_t i;

	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < v->object.n; i++)
		if (!strcmp(v->object.members[i].key, key))
			return v->object.members[i].value;
	return NULL;
}

const char *json_type_name(enum json_type type)
{
	static const char *const names[] = {
		[JSON_NULL] = "null",	  [JSON_BOOL] = "a boolean",
		[JSON_NUMBER] = "a number", [JSON_STRING] = "a string",
		[JSON_ARRAY] = "an array", [JSON_OBJECT] = "an object",
	};

	return names[type];
}
