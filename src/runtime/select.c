/*
 * select.c - which programs the runtime checks (only=, exclude=), and the
 * fencedep command's handshake that says the runtime was loaded.
 *
 * only= and exclude= take comma-separated globs (* any run of characters,
 * ? one character) matched against the program's executable: its file name,
 * or its whole path when the pattern holds a '/'.  A program that is not
 * selected runs untouched: the runtime goes to RT_DISABLED before it
 * installs anything, so `fencedep --options=only='test_*' -- make check`
 * checks the test programs and not make, the shell or the compiler.
 *
 * The handshake: the fencedep command runs a program with
 * FENCEDEP_ACK=FD:DEV:INODE, the write end of a pipe it watches.  The
 * runtime writes one byte to it and closes it, whether the program is
 * selected or not; the command warns when the pipe closes without that
 * byte (a static program, a setuid one, LD_PRELOAD dropped).  The byte goes
 * only to a pipe of exactly that device and inode, so a stale or forged
 * variable never writes into another file.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

/* Glob match of s against the pattern p[0..n): '*' and '?'. */
static bool glob_match(const char *p, size_t n, const char *s)
{
	const char *star_p = NULL, *star_s = NULL, *end = p + n;

	while (*s) {
		if (p < end && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (p < end && *p == '*') {
			star_p = ++p;
			star_s = s;
		} else if (star_p) {
			p = star_p;
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (p < end && *p == '*')
		p++;
	return p == end;
}

/* Does any pattern of the comma-separated list match? */
static bool list_matches(const char *list, const char *path, const char *base)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n) {
			bool whole = memchr(p, '/', n) != NULL;
			if (glob_match(p, n, whole ? path : base))
				return true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

bool rt_program_selected(void)
{
	char path[PATH_MAX];

	if (!rt_opt.only[0] && !rt_opt.exclude[0])
		return true;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return true; /* cannot tell: check it */
	path[n] = 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (rt_opt.only[0] && !list_matches(rt_opt.only, path, base))
		return false;
	return !(rt_opt.exclude[0] && list_matches(rt_opt.exclude, path, base));
}

void rt_ack_command(void)
{
	const char *v = getenv("FENCEDEP_ACK");
	char *end;
	struct stat st;

	if (!v || !*v)
		return;
	unsigned long fd = strtoul(v, &end, 10);
	if (*end != ':' || fd > INT_MAX)
		return;
	unsigned long long dev = strtoull(end + 1, &end, 10);
	if (*end != ':')
		return;
	unsigned long long ino = strtoull(end + 1, &end, 10);
	if (*end)
		return;
	if (fstat((int)fd, &st) || !S_ISFIFO(st.st_mode) || st.st_dev != dev || st.st_ino != ino)
		return;
	if (write((int)fd, "y", 1) < 0) {
		/* the command is gone: nobody to tell */
	}
	close((int)fd);
}
