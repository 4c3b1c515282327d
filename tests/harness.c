/*
 * harness.c - run a test program under the preloaded runtime (or natively)
 * and collect its exit status, output and reports.
 */

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

double harness_timeout_s;
const char *harness_extra_preload;

/* Wait for pid, killing it once the time limit has passed. */
static int wait_limited(pid_t pid)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	double waited = 0;
	int st;

	while (harness_timeout_s > 0) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return st;
		if (waited >= harness_timeout_s)
			kill(pid, SIGKILL);
		nanosleep(&tick, NULL);
		waited += 0.01;
	}
	waitpid(pid, &st, 0);
	return st;
}

const char *harness_prog(const char *name)
{
	static char path[4096];
	const char *dir = getenv("FDEP_TEST_BINDIR");

	if (strchr(name, '/'))
		return name;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/progs", name);
	return path;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&data, &len);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	fclose(f);
	fclose(m);
	return data;
}

static char *concat(char *a, const char *b)
{
	size_t la = a ? strlen(a) : 0, lb = strlen(b);
	char *r = realloc(a, la + lb + 2);

	memcpy(r + la, b, lb);
	r[la + lb] = '\n';
	r[la + lb + 1] = 0;
	return r;
}

/* Every file in dir whose name starts with prefix and ends with suffix. */
static char *collect(const char *dir, const char *prefix, const char *suffix, int *count)
{
	char *all = strdup("");
	DIR *d = opendir(dir);
	struct dirent *e;

	*count = 0;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name), ls = strlen(suffix);
		if (strncmp(e->d_name, prefix, strlen(prefix)) || n < ls ||
		    strcmp(e->d_name + n - ls, suffix))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *data = slurp(path);
		if (data && *data) {
			all = concat(all, data);
			free(data);
			(*count)++;
		}
	}
	if (d)
		closedir(d);
	return all;
}

int harness_run_opts(int preload, const char *opts, char *const argv[], struct harness_run *r)
{
	char dir[] = "/tmp/fdep-test-XXXXXX";
	char env[8192], out[4200], err[4200];

	memset(r, 0, sizeof(*r));
	if (!mkdtemp(dir))
		return -1;
	snprintf(env, sizeof(env), "json_path=%s/r:log_path=%s/log%s%s", dir, dir,
		 opts && *opts ? ":" : "", opts ? opts : "");
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fi = open("/dev/null", O_RDONLY);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		if (preload) {
			const char *lib = getenv("FENCEDEP_LIBRARY");
			char pre[8192];
			snprintf(pre, sizeof(pre), "%s%s%s", lib ? lib : ".libs/libfencedep.so",
				 harness_extra_preload ? " " : "",
				 harness_extra_preload ? harness_extra_preload : "");
			setenv("LD_PRELOAD", pre, 1);
			setenv("FENCEDEP_OPTIONS", env, 1);
		} else {
			if (harness_extra_preload)
				setenv("LD_PRELOAD", harness_extra_preload, 1);
			else
				unsetenv("LD_PRELOAD");
			unsetenv("FENCEDEP_OPTIONS");
		}
		execv(harness_prog(argv[0]), argv);
		_exit(127);
	}
	int st = wait_limited(pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->json = collect(dir, "r.", ".json", &r->nreports);
	int nlogs;
	r->log = collect(dir, "log", "", &nlogs);
	r->out = slurp(out);
	r->err = slurp(err);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 0;
	return 0;
}

int harness_count(const char *json, const char *kind)
{
	char needle[256];
	int n = 0;

	snprintf(needle, sizeof(needle), "{\"kind\": \"%s\"", kind);
	for (const char *p = json; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

int harness_findings(const char *json)
{
	int n = 0;

	for (const char *p = json; p && (p = strstr(p, "\"fingerprint\": ")); p++)
		n++;
	return n;
}

void harness_free(struct harness_run *r)
{
	free(r->json);
	free(r->log);
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}
