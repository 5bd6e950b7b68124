// SPDX-License-Identifier: GPL-2.0
/*
 * Probe of the DigSig LSM for digsig.sh: tries one way of getting code
 * from a file executable and prints "ok" or the errno's name.
 *
 *   digsig_probe mmap FILE       mmap(PROT_READ|PROT_EXEC) of FILE
 *   digsig_probe mprotect FILE   mmap(PROT_READ), then mprotect(+PROT_EXEC)
 *   digsig_probe memfd FILE      copy FILE into a memfd, execveat() it
 *   digsig_probe holdmap FILE S  map FILE executable, print "mapped",
 *                                hold it S seconds
 *   digsig_probe openwrite FILE  open(O_WRONLY) FILE
 *   digsig_probe bench-exec FILE N [FLUSH]
 *                                fork+execve FILE ("true" as argv[1]) N
 *                                times; with FLUSH (a sysfs file), write
 *                                "1" to it before each; prints ns/exec
 *   digsig_probe bench-mmap FILE N [FLUSH]
 *                                N times mmap(PROT_EXEC)+munmap of FILE
 *                                (flushing as above); prints ns/mmap
 *
 * Exit status: 0 if the operation succeeded, 1 if it failed, 2 on usage
 * or set-up errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ETXTBSY: return "ETXTBSY";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

static int report(const char *what, int ok)
{
	if (ok) {
		printf("%s: ok\n", what);
		return 0;
	}
	printf("%s: %s\n", what, errname(errno));
	return 1;
}

static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static int do_memfd(const char *path, char **argv)
{
	char buf[65536];
	int in = open_ro(path);
	int fd = memfd_create("digsig_probe", 0);
	ssize_t n;

	if (fd < 0) {
		perror("memfd_create");
		return 2;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n) {
			perror("write");
			return 2;
		}
	close(in);
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	return report("execveat", 0);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int bench_exec(const char *path, int n, const char *flush)
{
	char *args[] = { (char *)path, "true", NULL };
	long long t, total = 0;
	int i, st, ffd = -1;

	if (flush) {
		ffd = open(flush, O_WRONLY);
		if (ffd < 0) {
			perror(flush);
			return 2;
		}
	}
	for (i = 0; i < n; i++) {
		pid_t pid;

		if (ffd >= 0 && pwrite(ffd, "1", 1, 0) != 1) {
			perror("flush");
			return 2;
		}
		t = now_ns();
		pid = fork();
		if (pid == 0) {
			execve(path, args, environ);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench-exec: %s failed\n", path);
			return 1;
		}
		total += now_ns() - t;
	}
	printf("bench-exec: %lld ns/exec\n", total / n);
	return 0;
}

static int bench_mmap(const char *path, int n, const char *flush)
{
	int i, ffd = -1, fd = open_ro(path);
	long long t, total = 0;

	if (flush) {
		ffd = open(flush, O_WRONLY);
		if (ffd < 0) {
			perror(flush);
			return 2;
		}
	}
	for (i = 0; i < n; i++) {
		void *p;

		if (ffd >= 0 && pwrite(ffd, "1", 1, 0) != 1) {
			perror("flush");
			return 2;
		}
		t = now_ns();
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		total += now_ns() - t;
		if (p == MAP_FAILED)
			return report("bench-mmap", 0);
		munmap(p, 4096);
	}
	printf("bench-mmap: %lld ns/mmap\n", total / n);
	return 0;
}

int main(int argc, char **argv)
{
	void *p;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s mmap|mprotect|memfd|holdmap|openwrite|bench-exec|bench-mmap FILE [ARG]\n",
			argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "mmap")) {
		fd = open_ro(argv[2]);
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		return report("mmap", p != MAP_FAILED);
	}
	if (!strcmp(argv[1], "mprotect")) {
		fd = open_ro(argv[2]);
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 2;
		}
		return report("mprotect", !mprotect(p, 4096, PROT_READ | PROT_EXEC));
	}
	if (!strcmp(argv[1], "memfd"))
		return do_memfd(argv[2], argv + 2);
	if (!strcmp(argv[1], "holdmap") && argc == 4) {
		fd = open_ro(argv[2]);
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		if (report("holdmap", p != MAP_FAILED))
			return 1;
		fflush(stdout);
		sleep(atoi(argv[3]));
		return 0;
	}
	if (!strcmp(argv[1], "bench-exec") && argc >= 4)
		return bench_exec(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1,
				  argc > 4 ? argv[4] : NULL);
	if (!strcmp(argv[1], "bench-mmap") && argc >= 4)
		return bench_mmap(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1,
				  argc > 4 ? argv[4] : NULL);
	if (!strcmp(argv[1], "openwrite")) {
		fd = open(argv[2], O_WRONLY);
		return report("openwrite", fd >= 0);
	}
	fprintf(stderr, "%s: unknown operation %s\n", argv[0], argv[1]);
	return 2;
}
