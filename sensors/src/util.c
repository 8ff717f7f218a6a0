/* Small helpers: allocation, files, warnings, counters. */
#include "sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const counter_names[C_COUNT] = {
	"ptrace_stops", "seccomp_stops", "syscall_stops", "signal_stops", "tasks", "execs",
	"paths_decoded", "path_read_failed", "relative_paths", "unresolved_paths",
	"vm_readv_fallback", "exec_log_dropped", "fan_events", "fan_overflows", "fan_own_events",
	"fan_readlink_failed", "signals_forwarded", "killed_after_grace", "cpu_pinned", "runtime_ms",
};
uint64_t counters[C_COUNT];

static void *check(void *p)
{
	if (!p) {
		static const char msg[] = "sensor: out of memory\n";
		(void)!write(2, msg, sizeof msg - 1);
		_exit(125);
	}
	return p;
}

void *xmalloc(size_t n)
{
	return check(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size));
}

void *xrealloc(void *p, size_t n)
{
	return check(realloc(p, n ? n : 1));
}

char *read_small_file(const char *path, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	size_t cap = 8192, len = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= (4u << 20))
				break;
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	*err = 0;
	return buf;
}

static char *warnings;
static size_t warnings_len;

void warn_add(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	warnings = xrealloc(warnings, warnings_len + (size_t)n + 1);
	memcpy(warnings + warnings_len, line, (size_t)n + 1);
	warnings_len += (size_t)n + 1;
}

void warnings_report(struct out *o)
{
	for (size_t i = 0; i < warnings_len; i += strlen(warnings + i) + 1) {
		out_str(o, "warning ");
		out_esc(o, warnings + i, strlen(warnings + i));
		out_str(o, "\n");
	}
}
