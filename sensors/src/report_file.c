/* The report's file: created only when the sensor is the last process of the container, and
 * created so that nothing the image or the target left at its path is used.
 *
 * The target may run as root and may know the report's path (PID 1's command line is readable):
 * it can plant a directory, a symlink or a file there, or replace the sensor's directory. It
 * cannot act any more once it and every other process of the container are gone, so the sensor
 * first waits for that, then walks the path from "/" component by component without following
 * symlinks, moves aside whatever is in the way (and says so in a warning), makes the missing
 * directories, and creates the report with O_CREAT | O_EXCL | O_NOFOLLOW: a new regular file the
 * host then reads by its exact name. */
#include "sensor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 1 when a process other than the sensor (or a zombie) exists in the container's pid namespace,
 * 0 when none, -1 when /proc cannot tell. */
static int others_alive(void)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return -1;
	pid_t self = getpid();
	int alive = 0;
	struct dirent *e;
	while (!alive && (e = readdir(proc)) != NULL) {
		char *end, path[64], buf[512];
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone meanwhile */
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		char *paren = strrchr(buf, ')');
		alive = !paren || (paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X');
	}
	closedir(proc);
	return alive;
}

int wait_alone(unsigned timeout_ms)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	for (unsigned waited = 0;; waited += 10) {
		kill(-1, SIGKILL); /* PID 1 signals every other process of its namespace */
		int alive = others_alive();
		if (alive < 0) /* no /proc: ask the kernel (zombies count as alive here) */
			alive = !(kill(-1, 0) != 0 && errno == ESRCH);
		if (!alive)
			return 0;
		if (waited >= timeout_ms)
			return -1;
		nanosleep(&tick, NULL);
	}
}

/* Renames dir/name to an unused dir/name.displaced-N. */
static int displace(int dir, const char *name)
{
	char aside[PATH_CAP];
	for (int n = 1; n < 1000; n++) {
		struct stat st;
		snprintf(aside, sizeof aside, "%s.displaced-%d", name, n);
		if (fstatat(dir, aside, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (renameat(dir, name, dir, aside) == 0) {
			warn_add("the report path was tampered with: %s was in the way and was moved "
				 "aside (as %s); its content was not used", name, aside);
			return 0;
		}
		return -errno;
	}
	return -EEXIST;
}

/* The directory fd of component name in dir: an existing real directory, else a new one. */
static int enter(int dir, const char *name)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == ENOTDIR || errno == ELOOP) { /* a file or a symlink */
			int r = displace(dir, name);
			if (r < 0)
				return r;
		} else if (errno != ENOENT) {
			return -errno;
		}
		if (mkdirat(dir, name, 0700) != 0 && errno != EEXIST)
			return -errno;
	}
	return -ELOOP;
}

int report_create(const char *path)
{
	char copy[PATH_CAP];
	if (path[0] != '/' || strlen(path) >= sizeof copy)
		return -EINVAL;
	snprintf(copy, sizeof copy, "%s", path);
	char *last = strrchr(copy, '/');
	*last++ = 0;
	if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
		return -EINVAL;
	int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c && dir >= 0; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0) {
			close(dir);
			return -EINVAL;
		}
		int next = enter(dir, c);
		close(dir);
		dir = next;
	}
	if (dir < 0)
		return dir;
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dir, last, flags, 0600);
	if (fd < 0 && errno == EEXIST && displace(dir, last) == 0)
		fd = openat(dir, last, flags, 0600);
	int err = errno;
	close(dir);
	return fd >= 0 ? fd : -err;
}
