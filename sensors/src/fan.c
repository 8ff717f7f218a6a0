/* fanotify: every file and directory opened, read or executed on the root filesystem, by any
 * process of the container (docker exec too). A reader thread aggregates path -> kinds. */
#include "sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FAN_OPEN_EXEC
#define FAN_OPEN_EXEC 0x00001000
#endif
#ifndef FAN_MARK_FILESYSTEM
#define FAN_MARK_FILESYSTEM 0x00000100
#endif

#define KIND_OPEN 1u
#define KIND_ACCESS 2u
#define KIND_EXEC 4u
#define KIND_DIR 8u
/* The reader waits this long after a drain so events gather (one wake-up of the thread, which
 * shares the target's CPU, per batch instead of per event; the kernel also merges a process's
 * events on one file while they wait). A drain of BUSY_EVENTS or more skips the wait: the queue
 * (16384 events) must not overflow during a burst. */
#define BATCH_MS 10
#define BUSY_EVENTS 1024

static int fan_fd = -1, stop_fd = -1;
static pthread_t reader;
static struct agg files;
static const char *skip;
static size_t skip_len;
static pid_t self;

static void handle(const struct fanotify_event_metadata *m)
{
	char link[40], path[PATH_CAP];
	counters[C_FAN_EVENTS]++;
	if (m->mask & FAN_Q_OVERFLOW) {
		counters[C_FAN_OVERFLOWS]++;
		return;
	}
	if (m->fd < 0)
		return;
	if (m->pid == self) {
		counters[C_FAN_OWN]++;
		close(m->fd);
		return;
	}
	snprintf(link, sizeof link, "/proc/self/fd/%d", m->fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0 || path[0] != '/') {
		close(m->fd);
		counters[C_FAN_READLINK_FAILED]++;
		return;
	}
	path[n] = 0;
	if ((size_t)n >= skip_len && memcmp(path, skip, skip_len) == 0 &&
	    (path[skip_len] == '/' || path[skip_len] == 0)) {
		close(m->fd);
		counters[C_FAN_OWN]++;
		return;
	}
	uint32_t kinds = 0;
	if (m->mask & FAN_OPEN)
		kinds |= KIND_OPEN;
	if (m->mask & FAN_ACCESS)
		kinds |= KIND_ACCESS;
	if (m->mask & FAN_OPEN_EXEC)
		kinds |= KIND_EXEC;
	struct agg_entry *e = agg_add(&files, path, (uint32_t)n, 1);
	struct stat st;
	/* FAN_ONDIR is only reported to FID groups: look at a new path's type once */
	if (e->count == 1 && fstat(m->fd, &st) == 0 && S_ISDIR(st.st_mode))
		kinds |= KIND_DIR;
	close(m->fd);
	e->extra |= kinds;
}

/* Reads what is queued; returns how many events were read (0: the queue is empty). */
static int drain_once(void)
{
	char buf[16384] __attribute__((aligned(8)));
	ssize_t len = read(fan_fd, buf, sizeof buf);
	if (len <= 0)
		return 0;
	int events = 0;
	const struct fanotify_event_metadata *m = (const void *)buf;
	while (FAN_EVENT_OK(m, len)) {
		if (m->vers == FANOTIFY_METADATA_VERSION)
			handle(m);
		events++;
		m = FAN_EVENT_NEXT(m, len);
	}
	return events;
}

static void *run(void *arg)
{
	(void)arg;
	struct pollfd p[2] = {{fan_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		int drained = 0;
		if (p[0].revents & POLLIN)
			for (int got; (got = drain_once()) > 0;)
				drained += got;
		if (p[1].revents & POLLIN)
			break;
		/* the stop ends the wait at once */
		if (drained < BUSY_EVENTS && poll(&p[1], 1, BATCH_MS) > 0)
			break;
	}
	while (drain_once())
		;
	return NULL;
}

int fan_start(const char *skip_prefix, char *mode, size_t mode_cap)
{
	uint64_t mask = FAN_OPEN | FAN_ACCESS | FAN_OPEN_EXEC | FAN_ONDIR;
	self = getpid();
	skip = skip_prefix;
	skip_len = strlen(skip_prefix);
	fan_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
			       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fan_fd < 0) {
		snprintf(mode, mode_cap, "off: fanotify_init: %s", strerror(errno));
		return -1;
	}
	const char *how = "filesystem";
	int r = fanotify_mark(fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, "/");
	if (r != 0 && errno == EINVAL) { /* before 5.0: no FAN_OPEN_EXEC */
		mask &= ~(uint64_t)FAN_OPEN_EXEC;
		r = fanotify_mark(fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, "/");
	}
	if (r != 0) {
		how = "mount";
		r = fanotify_mark(fan_fd, FAN_MARK_ADD | FAN_MARK_MOUNT, mask, AT_FDCWD, "/");
	}
	if (r != 0) {
		snprintf(mode, mode_cap, "off: fanotify_mark: %s", strerror(errno));
		close(fan_fd);
		fan_fd = -1;
		return -1;
	}
	stop_fd = eventfd(0, EFD_CLOEXEC);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals go to the main thread */
	r = stop_fd < 0 ? -1 : pthread_create(&reader, NULL, run, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		snprintf(mode, mode_cap, "off: no reader thread");
		close(fan_fd);
		fan_fd = -1;
		return -1;
	}
	snprintf(mode, mode_cap, "%s", how);
	return 0;
}

void fan_stop(void)
{
	if (fan_fd < 0)
		return;
	uint64_t one = 1;
	(void)!write(stop_fd, &one, sizeof one);
	pthread_join(reader, NULL);
	close(fan_fd);
	fan_fd = -1;
}

void fan_report(struct out *o)
{
	for (size_t i = 0; i < files.cap; i++) {
		struct agg_entry *e = &files.slots[i];
		if (!e->key)
			continue;
		char kinds[5];
		int k = 0;
		if (e->extra & KIND_OPEN)
			kinds[k++] = 'o';
		if (e->extra & KIND_ACCESS)
			kinds[k++] = 'a';
		if (e->extra & KIND_EXEC)
			kinds[k++] = 'x';
		if (e->extra & KIND_DIR)
			kinds[k++] = 'd';
		kinds[k] = 0;
		out_str(o, "file ");
		out_str(o, kinds);
		out_str(o, " ");
		out_u64(o, e->count);
		out_str(o, " ");
		out_esc(o, e->key, e->len);
		out_str(o, "\n");
	}
}
