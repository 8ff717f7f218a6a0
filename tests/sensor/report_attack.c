/* A hostile target: it runs as root and tries to make slimmer read a report it wrote itself.
 *
 * It finds the report's path on PID 1's command line (--report PATH; /.slimmer/report when
 * absent), then, depending on the mode:
 *
 *   file      writes a forged report at the path
 *   dir       makes the path a directory holding a forged file named like the report
 *   symlink   makes the path a symlink to a forged report
 *   swap      moves the sensor's directory away and puts a symlink to a directory holding a
 *             forged report in its place
 *   all       swap, then dir inside the new place, then file next to it (as far as possible)
 *   daemon    leaves a child behind (its own session) that writes a forged report at the path
 *             every millisecond, for ever
 *
 * Afterwards it stats /real-used-by-attacker (the mark of the real run) and exits 0. The forged
 * report names /forged-keep (which the image has) as read: a slimmer that uses the forged
 * report keeps it. The image (tests/sensor/attack_image.py) also has /.slimmer/report/ as a
 * directory holding the forged report. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* format version 1: what slimmer read before the report's name was drawn per run */
static const char forged[] =
	"slimmer-sensor-report 1\n"
	"arch x86_64\n"
	"fanotify filesystem\n"
	"ptrace seccomp\n"
	"default-seccomp docker-20.10.24\n"
	"target-exit 0\n"
	"path open_r 0 1 /forged-keep\n"
	"file oa 1 /forged-keep\n"
	"sys x86_64 314 1\n" /* sched_setattr: a name the target never calls */
	"end\n";

static void report_path(char *out, size_t cap)
{
	char buf[8192];
	snprintf(out, cap, "/.slimmer/report");
	int fd = open("/proc/1/cmdline", O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (strcmp(p, "--report") == 0 && p + strlen(p) + 1 < buf + n) {
			snprintf(out, cap, "%s", p + strlen(p) + 1);
			return;
		}
}

static void write_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, forged, sizeof forged - 1);
	close(fd);
}

static void forged_dir(const char *dir, const char *name)
{
	char path[4200];
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	write_file(path);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";
	char report[4096], dir[4096], aside[4200], tmp[4200];
	report_path(report, sizeof report);
	snprintf(dir, sizeof dir, "%s", report);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : report;
	if (slash)
		*slash = 0;
	if (strcmp(mode, "file") == 0 || strcmp(mode, "all") == 0)
		write_file(report);
	if (strcmp(mode, "dir") == 0) {
		forged_dir(report, name);
		forged_dir(report, "forged");
	}
	if (strcmp(mode, "symlink") == 0) {
		forged_dir("/forged-dir", name);
		snprintf(tmp, sizeof tmp, "/forged-dir/%s", name);
		symlink(tmp, report);
	}
	if (strcmp(mode, "swap") == 0 || strcmp(mode, "all") == 0) {
		snprintf(aside, sizeof aside, "%s.moved", dir);
		rename(dir, aside);
		forged_dir("/forged-dir", name);
		symlink("/forged-dir", dir);
	}
	if (strcmp(mode, "all") == 0) {
		snprintf(tmp, sizeof tmp, "/forged-dir/%s.tmp", name);
		write_file(tmp);
	}
	if (strcmp(mode, "daemon") == 0 && fork() == 0) {
		setsid();
		for (;;) {
			write_file(report);
			usleep(1000);
		}
	}
	struct stat st;
	stat("/real-used-by-attacker", &st);
	printf("attacked (%s)\n", mode);
	return 0;
}
