/*
 * rel-fds - a program that closes every descriptor it did not open itself
 * (as a daemon, or closefrom() before exec, does), then opens a file of its
 * own and puts it under every number up to 699, as if it had opened that
 * many.  Reports written after that must not land in its file: it prints
 * what the file holds.
 *
 *   rel-fds closefrom    an inversion before and one after; the file holds
 *                        only the program's line
 *   rel-fds chdir        the program changes to / before its inversion:
 *                        relative report paths still mean where it started
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nest.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
	char path[] = "/tmp/rel-fds-XXXXXX", buf[256];

	if (argc == 2 && !strcmp(argv[1], "chdir")) {
		if (chdir("/"))
			return 3;
		nest(&a, &b);
		nest(&b, &a);
		puts("done");
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "closefrom")) {
		fprintf(stderr, "usage: rel-fds closefrom|chdir\n");
		return 2;
	}
	nest(&a, &b);
	nest(&b, &a);
	int own = mkstemp(path);
	if (own < 0)
		return 3;
	unlink(path);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != own)
			close(fd);
	for (int fd = 3; fd < 700; fd++)
		if (fd != own)
			dup2(own, fd);
	nest(&c, &d);
	nest(&d, &c);
	if (write(own, "program data\n", 13) != 13)
		return 4;
	ssize_t n = pread(own, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	printf("file: %s", buf);
	return 0;
}
