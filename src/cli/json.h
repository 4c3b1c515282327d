/*
 * json.h - a small JSON reader: text in, a tree of values out, or an error
 * with the line and column where the text went wrong.
 *
 * RFC 8259 exactly: no comments, no trailing commas, strings with every
 * escape including \u surrogate pairs (decoded to UTF-8), numbers kept both
 * as a double and, when integral, as a long long.  Nesting deeper than
 * JSON_MAX_DEPTH is an error rather than a stack overflow.
 */
#ifndef FDEP_JSON_H
#define FDEP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 200

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json_value {
	enum json_type type;
	unsigned line, col;		/* where the value starts, from 1 */
	union {
		bool boolean;
		struct {
			double num;
			long long inum;
			bool integral;	/* inum holds the exact value */
		};
		struct {
			char *str;	/* NUL-terminated, UTF-8 */
			size_t len;	/* may hold NULs from \u0000 */
		};
		struct {
			struct json_value **items;
			size_t n;
		} array;
		struct {
			struct json_member *members;
			size_t n;
		} object;
	};
};

struct json_member {
	char *key;
	struct json_value *value;
};

struct json_error {
	unsigned line, col;
	char msg[128];
};

/*
 * Parse the first JSON value of text[0..len) starting at *pos (0 for the
 * whole text) and advance *pos past it and any blanks that follow.  Returns
 * the value, or NULL with *err set.  With several values one after another
 * (concatenated reports), call again while *pos < len.
 */
struct json_value *json_parse_next(const char *text, size_t len, size_t *pos,
				   struct json_error *err);

/* Parse exactly one value filling all of text. */
struct json_value *json_parse(const char *text, size_t len,
			      struct json_error *err);

void json_free(struct json_value *v);

/* The member of an object named key, or NULL (also when v is no object). */
struct json_value *json_get(const struct json_value *v, const char *key);

const char *json_type_name(enum json_type type);

#endif
