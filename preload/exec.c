/*
 * exec.c - exec() after a finding: the new image of the process must still
 * exit with `exitcode`, as a CI gate sees only the last image's status.
 *
 * The exec family is interposed to pass the number of findings the process
 * has reported so far to the new image in FENCEDEP_EXEC_FINDINGS
 * ("<pid>:<count>"), which the runtime there takes (for the same pid only:
 * a child process inherits no findings) and removes from the environment
 * at once (init.c).  A process with no finding execs with its environment
 * untouched.  The reports themselves need nothing: each image writes files
 * of its own (report_create).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

extern char **environ;

REAL_DECL(int, execve, const char *, char *const[], char *const[]);
REAL_DECL(int, execvpe, const char *, char *const[], char *const[]);
REAL_DECL(int, fexecve, int, char *const[], char *const[]);

/* The environment to exec with, and what to free if exec fails. */
struct exec_env {
	char *const *envp;
	char **made;
	size_t made_size;
	char var[64];
};

static void exec_env_make(struct exec_env *e, char *const *envp)
{
	size_t n = 0, k = 0, count;
	static const char name[] = RT_EXEC_FINDINGS_ENV "=";

	e->envp = envp;
	e->made = NULL;
	/* a vfork() child shares the parent's memory and is not its image */
	if (atomic_load(&rt_state) == RT_UNINIT || getpid() != rt_pid)
		return;
	count = report_unsuppressed() + rt_exec_findings;
	if (!count)
		return;
	snprintf(e->var, sizeof(e->var), "%s%d:%zu", name, (int)rt_pid, count);
	while (envp && envp[n])
		n++;
	e->made_size = (n + 2) * sizeof(char *);
	tls_busy++;
	e->made = rt_alloc(e->made_size);
	tls_busy--;
	if (!e->made)
		return; /* exec as asked: only the status of the new image is lost */
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], name, sizeof(name) - 1))
			e->made[k++] = envp[i];
	e->made[k++] = e->var;
	e->made[k] = NULL;
	e->envp = e->made;
}

/* exec failed: the process goes on as it was */
static int exec_env_failed(struct exec_env *e)
{
	int err = errno;

	if (e->made) {
		tls_busy++;
		rt_free(e->made, e->made_size);
		tls_busy--;
	}
	errno = err;
	return -1;
}

RT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	struct exec_env e;

	exec_env_make(&e, envp);
	REAL(execve)(path, argv, e.envp);
	return exec_env_failed(&e);
}

RT_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

RT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct exec_env e;

	exec_env_make(&e, envp);
	REAL(execvpe)(file, argv, e.envp);
	return exec_env_failed(&e);
}

RT_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

RT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct exec_env e;

	exec_env_make(&e, envp);
	REAL(fexecve)(fd, argv, e.envp);
	return exec_env_failed(&e);
}

/* The arguments of an execl-style call, up to its NULL, as an array. */
#define EXECL_ARGS(first, last, argv)                                   \
	size_t argc_ = 1;                                              \
	va_list ap_;                                                   \
	va_start(ap_, first);                                          \
	while (va_arg(ap_, char *))                                    \
		argc_++;                                               \
	va_end(ap_);                                                   \
	char *argv[argc_ + 1];                                         \
	argv[0] = (char *)(first);                                     \
	va_start(ap_, first);                                          \
	for (size_t i_ = 1; i_ <= argc_; i_++)                         \
		argv[i_] = va_arg(ap_, char *);                        \
	last;                                                          \
	va_end(ap_)

RT_EXPORT int execl(const char *path, const char *arg, ...)
{
	EXECL_ARGS(arg, (void)0, argv);
	return execve(path, argv, environ);
}

RT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	EXECL_ARGS(arg, (void)0, argv);
	return execvpe(file, argv, environ);
}

RT_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;

	EXECL_ARGS(arg, envp = va_arg(ap_, char *const *), argv);
	return execve(path, argv, envp);
}
