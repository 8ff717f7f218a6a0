/* What PID 1 would have to do for the target: handle the stop signal, reap orphans.
 *
 * In production the target is PID 1 of its container: the kernel then drops every signal it
 * has no handler for (docker stop waits, then kills), and every orphan of the container becomes
 * its child to reap. Under the sensor the target is not PID 1, so both are measured from /proc:
 * a thread samples the target's SigCgt/SigIgn and the process table every 100 ms while the
 * target runs, and the stop signal's handler takes one last sample of the masks before the
 * signal is forwarded (handlers are installed after start, and may be changed by the signal).
 * Report records: pid1-signals, orphans, zombies (REPORT.md). */
#include "sensor.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_MS 100
#define ZOMBIE_MS 1000 /* a zombie counts when it stayed unreaped this long */
#define SEEN_CAP 4096

struct masks {
	volatile sig_atomic_t valid;
	uint64_t caught, ignored;
};

struct seen { /* a process noticed in the table: orphaned and/or zombie */
	pid_t pid;
	uint8_t orphan, zombie_counted;
	uint64_t zombie_since;
};

static pid_t target;
static struct masks running_masks, stop_masks;
static struct seen seen[SEEN_CAP];
static size_t nseen;
static uint64_t orphans, zombies;
static int stop_fd = -1;
static pthread_t sampler;

static uint64_t hex_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (p += strlen(key); *p == ' ' || *p == '\t'; p++)
		;
	for (;; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v << 4 | (uint64_t)d;
	}
}

/* open/read/close only: also called from the stop signal's handler. */
static int read_proc(pid_t pid, const char *name, char *buf, size_t cap)
{
	char path[40] = "/proc/";
	char digits[12];
	int n = 0;
	for (unsigned v = (unsigned)pid; n == 0 || v; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	size_t len = strlen(path);
	while (n)
		path[len++] = digits[--n];
	path[len++] = '/';
	for (const char *s = name; *s && len < sizeof path - 1; s++)
		path[len++] = *s;
	path[len] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t got = read(fd, buf, cap - 1);
	close(fd);
	if (got <= 0)
		return -1;
	buf[got] = 0;
	return 0;
}

/* Samples only count once the target runs its own program (the fork is still the sensor). */
static int target_exec_done(const char *status)
{
	if (__atomic_load_n(&counters[C_EXECS], __ATOMIC_RELAXED))
		return 1;
	return strncmp(status, "Name:\tsensor\n", 13) != 0;
}

static void sample_masks(struct masks *m)
{
	char status[4096];
	if (target <= 0 || read_proc(target, "status", status, sizeof status) != 0 ||
	    !target_exec_done(status) || !strstr(status, "SigCgt:"))
		return;
	m->caught = hex_after(status, "SigCgt:");
	m->ignored = hex_after(status, "SigIgn:");
	m->valid = 1;
}

void pid1_at_stop(pid_t pid)
{
	if (pid == target && !stop_masks.valid)
		sample_masks(&stop_masks);
}

static struct seen *seen_get(pid_t pid)
{
	for (size_t i = 0; i < nseen; i++)
		if (seen[i].pid == pid)
			return &seen[i];
	if (nseen == SEEN_CAP)
		return NULL;
	memset(&seen[nseen], 0, sizeof seen[nseen]);
	seen[nseen].pid = pid;
	return &seen[nseen++];
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct hit { /* what one scan saw of one process */
	pid_t pid;
	uint8_t orphan, zombie;
};

/* One look at a process: an orphan has the sensor (PID 1) as parent without being the target;
 * a zombie of a living parent other than the sensor was not reaped. */
static int look_at(pid_t pid, pid_t self, struct hit *hit)
{
	char stat[512];
	char state = 0;
	int ppid = 0;
	if (read_proc(pid, "stat", stat, sizeof stat) != 0)
		return 0;
	char *end = strrchr(stat, ')'); /* the name may hold spaces and parentheses */
	if (!end || sscanf(end + 1, " %c %d", &state, &ppid) != 2)
		return 0;
	hit->pid = pid;
	hit->orphan = ppid == self && pid != target;
	hit->zombie = state == 'Z' && ppid != self;
	return hit->orphan || hit->zombie;
}

static int target_running(void)
{
	char stat[512];
	if (read_proc(target, "stat", stat, sizeof stat) != 0)
		return 0;
	char *end = strrchr(stat, ')');
	return end && end[1] == ' ' && end[2] != 'Z' && end[2] != 'X';
}

static void count(const struct hit *hit, uint64_t now)
{
	struct seen *s = seen_get(hit->pid);
	if (!s)
		return;
	if (hit->orphan && !s->orphan) {
		s->orphan = 1;
		orphans++;
	}
	if (hit->zombie && !s->zombie_since)
		s->zombie_since = now;
	else if (hit->zombie && !s->zombie_counted && now - s->zombie_since >= ZOMBIE_MS) {
		s->zombie_counted = 1;
		zombies++;
	}
}

/* One scan of the process table, counted only when the target ran all through it: once it
 * exits, its own children are reparented to the sensor and killed, which is no orphaning. */
static void sample_processes(void)
{
	static struct hit hits[256];
	static int target_ended;
	size_t nhits = 0;
	pid_t self = getpid();
	uint64_t now = now_ms();
	DIR *proc = target_ended ? NULL : opendir("/proc");
	if (!proc)
		return;
	for (struct dirent *d; (d = readdir(proc)) && nhits < sizeof hits / sizeof hits[0];) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		nhits += (size_t)look_at((pid_t)pid, self, &hits[nhits]);
	}
	closedir(proc);
	if (!target_running()) {
		target_ended = 1;
		return;
	}
	for (size_t i = 0; i < nhits; i++)
		count(&hits[i], now);
}

static void *run(void *arg)
{
	(void)arg;
	struct pollfd stop = {stop_fd, POLLIN, 0};
	do {
		sample_masks(&running_masks);
		sample_processes();
	} while (poll(&stop, 1, SAMPLE_MS) == 0);
	return NULL;
}

void pid1_start(pid_t pid)
{
	sigset_t all, old;
	target = pid;
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals go to the main thread */
	if (pthread_create(&sampler, NULL, run, NULL) != 0) {
		close(stop_fd);
		stop_fd = -1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void pid1_stop(void)
{
	if (stop_fd < 0)
		return;
	uint64_t one = 1;
	(void)!write(stop_fd, &one, sizeof one);
	pthread_join(sampler, NULL);
	close(stop_fd);
	stop_fd = -1;
}

static void out_hex(struct out *o, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char b[16];
	for (int i = 15; i >= 0; i--, v >>= 4)
		b[i] = hex[v & 15];
	out_bytes(o, b, sizeof b);
}

void pid1_report(struct out *o)
{
	const struct masks *m = stop_masks.valid ? &stop_masks : &running_masks;
	if (m->valid) {
		out_str(o, "pid1-signals ");
		out_str(o, stop_masks.valid ? "stop " : "running ");
		out_hex(o, m->caught);
		out_str(o, " ");
		out_hex(o, m->ignored);
		out_str(o, "\n");
	}
	out_str(o, "orphans ");
	out_u64(o, orphans);
	out_str(o, "\nzombies ");
	out_u64(o, zombies);
	out_str(o, "\n");
}
