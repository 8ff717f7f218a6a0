/* ptrace of the target tree: syscall sets, path accesses with results, exec log, sockets.
 *
 * Mode "seccomp": the child installs a filter returning SECCOMP_RET_TRACE (optionally
 * RET_ALLOW for the documented hot syscalls); a seccomp stop counts the call and decodes its
 * paths; only calls whose result matters get PTRACE_SYSCALL to see their exit. Mode "syscall":
 * PTRACE_SYSCALL everywhere (two stops per call). Nothing is counted before the target's first
 * exec: the sensor's own child makes those calls. */
#include "sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#define SI_ENTRY 1
#define SI_EXIT 2
#define SI_SECCOMP 3

struct trace_opts topts = {1, 0, 1};

/* Hot syscalls the filter may let through untraced (--allow-hot); reported as "allowed". */
static const char *const hot_syscalls[] = {
	"read", "write", "close", "fstat", "lseek", "mmap", "mprotect", "munmap", "brk",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "pread64", "readv", "writev", "futex",
	"getpid", "gettid", "clock_gettime", "gettimeofday", "nanosleep", "clock_nanosleep",
	"sched_yield", "epoll_wait", "epoll_pwait", "poll", "ppoll", "getdents64", "fcntl",
	"madvise", "recvfrom", "sendto", "recvmsg", "sendmsg", "ioctl", "getcwd", NULL,
};

/* Stat calls the filter lets through (--allow-hot) when they are the descriptor form libc's
 * fstat makes: flags exactly AT_EMPTY_PATH and a descriptor (not AT_FDCWD). The path is then
 * "" (nothing to record), so no stop is needed; a non-empty path passed with exactly these flags
 * is not seen. Reported as "allowed" like the hot syscalls. */
static const struct {
	const char *name;
	unsigned flags_arg;
} fd_stats[] = {{"newfstatat", 3}, {"statx", 2}, {NULL, 0}};
#define AT_EMPTY_PATH_FLAG 0x1000u

struct sys_info { /* struct ptrace_syscall_info */
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	union {
		struct { uint64_t nr, args[6]; } entry;
		struct { int64_t rval; uint8_t is_error; } exit;
		struct { uint64_t nr, args[6]; uint32_t ret_data; } seccomp;
	} u;
};

/* A path access waiting for its result is kept as its aggregation key: op, errno (two bytes,
 * filled in at the exit), the path and a NUL. */
#define KEY_PREFIX 3

struct task {
	pid_t tid;
	uint8_t awaiting_exit; /* a decoded call waits for its result */
	uint8_t in_syscall;    /* register mode: entry/exit toggle */
	uint8_t npaths;
	int memfd;             /* /proc/TID/mem: 0 not opened yet, -1 unusable */
	uint32_t key_at[2], key_len[2]; /* the pending keys in keys */
	char *keys;            /* grows to the longest pair of paths, never shrinks: the hot path */
	uint32_t keys_cap, keys_used; /* allocates nothing once a task is warm */
	char *argv;            /* exec: NUL-separated arguments */
	uint32_t argv_len, argc;
	int port;              /* bind: AF_INET/AF_INET6 port, -1 none */
};

static struct task *tasks;
static size_t tasks_cap, tasks_used;
static pid_t first_child;
static int armed, no_vm_readv;

static struct agg sys_counts, path_aggs, sockets, ports;
/* syscall counts by ABI and number: an array for the numbers every ABI uses, sys_counts for
 * the rest (ARM private calls, numbers no table has) */
#define SYS_FLAT 1024
static uint64_t sys_flat[ABI_COUNT][SYS_FLAT];

struct exec_rec {
	pid_t pid, ppid;
	char *path, *argv;
	uint32_t argv_len, argc;
};
static struct exec_rec *execs;
static size_t nexecs, execs_cap;
#define EXEC_LOG_MAX 20000

/* ---- task table (open addressing on tid, tombstone-free deletion by rehash) ---- */

static size_t slot_of(pid_t tid)
{
	return ((uint32_t)tid * 2654435761u) & (tasks_cap - 1);
}

static void tasks_grow(void)
{
	size_t old = tasks_cap;
	struct task *prev = tasks;
	tasks_cap = old ? old * 2 : 256;
	tasks = xcalloc(tasks_cap, sizeof *tasks);
	for (size_t i = 0; i < old; i++) {
		if (!prev[i].tid)
			continue;
		size_t j = slot_of(prev[i].tid);
		while (tasks[j].tid)
			j = (j + 1) & (tasks_cap - 1);
		tasks[j] = prev[i];
	}
	free(prev);
}

static struct task *task_get(pid_t tid, int create)
{
	if (!tasks_cap)
		tasks_grow();
	size_t i = slot_of(tid);
	while (tasks[i].tid) {
		if (tasks[i].tid == tid)
			return &tasks[i];
		i = (i + 1) & (tasks_cap - 1);
	}
	if (!create)
		return NULL;
	if ((tasks_used + 1) * 2 > tasks_cap) {
		tasks_grow();
		return task_get(tid, 1);
	}
	memset(&tasks[i], 0, sizeof tasks[i]);
	tasks[i].tid = tid;
	tasks[i].port = -1;
	tasks_used++;
	counters[C_TASKS]++;
	return &tasks[i];
}

static void mem_close(struct task *t)
{
	if (t->memfd > 0)
		close(t->memfd);
	t->memfd = 0;
}

static void pending_clear(struct task *t)
{
	if (t->argv) {
		free(t->argv);
		t->argv = NULL;
	}
	t->npaths = 0;
	t->keys_used = 0;
	t->argv_len = t->argc = 0;
	t->port = -1;
	t->awaiting_exit = 0;
}

/* Keeps one path access until its result is known. */
static void pending_add(struct task *t, uint8_t op, const char *path, size_t len)
{
	size_t need = t->keys_used + KEY_PREFIX + len + 1;
	if (need > t->keys_cap) {
		t->keys_cap = (uint32_t)(need < 256 ? 256 : need * 2);
		t->keys = xrealloc(t->keys, t->keys_cap);
	}
	char *key = t->keys + t->keys_used;
	key[0] = (char)op;
	key[1] = key[2] = 0;
	memcpy(key + KEY_PREFIX, path, len);
	key[KEY_PREFIX + len] = 0;
	t->key_at[t->npaths] = t->keys_used;
	t->key_len[t->npaths] = (uint32_t)(KEY_PREFIX + len);
	t->keys_used = (uint32_t)need;
	t->npaths++;
}

static const char *pending_path(const struct task *t, int i)
{
	return t->keys + t->key_at[i] + KEY_PREFIX;
}

static void trace_forget(pid_t tid)
{
	struct task *t = task_get(tid, 0);
	if (!t)
		return;
	pending_clear(t);
	mem_close(t);
	free(t->keys);
	t->keys = NULL;
	size_t i = (size_t)(t - tasks);
	tasks[i].tid = 0;
	tasks_used--;
	/* re-insert the rest of the cluster so lookups never stop early */
	for (size_t j = (i + 1) & (tasks_cap - 1); tasks[j].tid; j = (j + 1) & (tasks_cap - 1)) {
		struct task moved = tasks[j];
		tasks[j].tid = 0;
		size_t k = slot_of(moved.tid);
		while (tasks[k].tid)
			k = (k + 1) & (tasks_cap - 1);
		tasks[k] = moved;
	}
}

/* ---- tracee memory ---- */

/* Strings are read in chunks: a small first one (almost every path fits: one read per string),
 * then to the end of each page, so a read never reaches into a page the string does not use. */
#define FIRST_READ 256
#define PAGE 4096 /* the smallest page size of both architectures: larger pages split alike */

typedef ssize_t (*reader_fn)(struct task *t, uint64_t addr, char *buf, size_t n);

/* Where a string read of `got` new bytes at buf + done ends: the length with its NUL, or 0. */
static size_t string_end(const char *buf, size_t done, size_t got)
{
	const char *nul = memchr(buf + done, 0, got);
	return nul ? (size_t)(nul - buf) + 1 : 0;
}

/* Reads up to n bytes at addr with rd, chunk by chunk; returns how many were read (strings: up
 * to and with the first NUL), -1 when nothing could be read (errno from rd). */
static int read_chunks(reader_fn rd, struct task *t, uint64_t addr, char *buf, size_t n,
		       int string)
{
	size_t done = 0;
	while (done < n) {
		size_t want = n - done;
		if (string) {
			size_t chunk = done ? PAGE - ((addr + done) & (PAGE - 1)) : FIRST_READ;
			if (want > chunk)
				want = chunk;
		}
		ssize_t r = rd(t, addr + done, buf + done, want);
		if (r <= 0)
			return done ? (int)done : -1;
		size_t end = string ? string_end(buf, done, (size_t)r) : 0;
		if (end)
			return (int)end;
		done += (size_t)r;
		if ((size_t)r < want)
			break; /* the next page is unreadable */
	}
	return (int)done;
}

/* One process_vm_readv, split at the page boundary: a transfer stops at the first unreadable
 * page and never splits an iovec element, so a string that ends before an unmapped page is
 * still read whole. */
static ssize_t vm_reader(struct task *t, uint64_t addr, char *buf, size_t n)
{
	size_t first = PAGE - (addr & (PAGE - 1));
	struct iovec local = {buf, n};
	struct iovec remote[2] = {
		{(void *)(uintptr_t)addr, n < first ? n : first},
		{(void *)(uintptr_t)(addr + first), n > first ? n - first : 0},
	};
	return process_vm_readv(t->tid, &local, 1, remote, n > first ? 2 : 1, 0);
}

static int open_as_owner(pid_t tid, const char *path, int flags);

/* /proc/TID/mem, which the sensor may open when its fsuid matches the tracee's. */
static ssize_t file_reader(struct task *t, uint64_t addr, char *buf, size_t n)
{
	return pread(t->memfd, buf, n, (off_t)addr);
}

static int mem_file_read(struct task *t, uint64_t addr, char *buf, size_t n, int string)
{
	if (t->memfd == 0) {
		char path[40];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)t->tid);
		t->memfd = open_as_owner(t->tid, path, O_RDONLY | O_CLOEXEC);
		if (t->memfd <= 0)
			t->memfd = -1;
	}
	if (t->memfd < 0)
		return -2;
	return read_chunks(file_reader, t, addr, buf, n, string);
}

static int peek_read(pid_t tid, uint64_t addr, char *buf, size_t n, int string)
{
	size_t done = 0;
	while (done < n) {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(addr + done), 0);
		if (errno)
			return string && done ? (int)done : -1;
		size_t k = n - done < sizeof w ? n - done : sizeof w;
		memcpy(buf + done, &w, k);
		size_t end = string ? string_end(buf, done, k) : 0;
		if (end)
			return (int)end;
		done += k;
	}
	return (int)done;
}

/* Reads up to n bytes at addr; returns how many were read (strings: up to a NUL), -1 on error.
 * process_vm_readv first (Docker's default seccomp profile refuses it without CAP_SYS_PTRACE),
 * then /proc/TID/mem, then PTRACE_PEEKDATA word by word. */
static int mem_read(struct task *t, uint64_t addr, char *buf, size_t n, int string)
{
	if (!no_vm_readv) {
		int r = read_chunks(vm_reader, t, addr, buf, n, string);
		if (r >= 0 || (errno != EPERM && errno != ENOSYS))
			return r;
		no_vm_readv = 1;
		counters[C_VM_READV_FALLBACK]++;
	}
	int r = mem_file_read(t, addr, buf, n, string);
	return r != -2 ? r : peek_read(t->tid, addr, buf, n, string);
}

static int read_string(struct task *t, uint64_t addr, char *buf, size_t cap)
{
	if (!addr)
		return -1;
	int n = mem_read(t, addr, buf, cap - 1, 1);
	if (n < 0)
		return -1;
	if (n > 0 && buf[n - 1] == 0)
		return n - 1; /* reads end at the first NUL */
	buf[n] = 0;          /* cut at cap - 1, or at an unreadable page */
	return n;
}

static int read_u64(void *ctx, uint64_t addr, uint64_t *out)
{
	return mem_read(ctx, addr, (char *)out, sizeof *out, 0) == (int)sizeof *out ? 0 : -1;
}

/* ---- relative paths ---- */

/* Runs op as the owner of /proc/TID: /proc allows access to another user's process only when
 * the reader's fsuid/fsgid match the tracee's ids (or with CAP_SYS_PTRACE, which the sensor
 * usually lacks). Returns op's result; retries only on EACCES/EPERM. */
static int as_owner(pid_t tid, int (*op)(const char *, void *, size_t), const char *path,
		    void *buf, size_t cap)
{
	int r = op(path, buf, cap);
	if (r >= 0 || (errno != EACCES && errno != EPERM))
		return r;
	char dir[32];
	struct stat st;
	snprintf(dir, sizeof dir, "/proc/%d", (int)tid);
	if (stat(dir, &st) != 0 || st.st_uid == 0)
		return r;
	setfsgid(st.st_gid);
	setfsuid(st.st_uid);
	r = op(path, buf, cap);
	int err = errno;
	setfsuid(0);
	setfsgid(0);
	errno = err;
	return r;
}

static int do_readlink(const char *path, void *buf, size_t cap)
{
	return (int)readlink(path, buf, cap - 1);
}

static int do_open(const char *path, void *buf, size_t flags)
{
	(void)buf;
	return open(path, (int)flags);
}

static int open_as_owner(pid_t tid, const char *path, int flags)
{
	return as_owner(tid, do_open, path, NULL, (size_t)flags);
}

/* readlink of /proc/TID/cwd or /proc/TID/fd/N: an absolute directory, else -1. */
static int proc_link(pid_t tid, int dirfd, char *out, size_t cap)
{
	char link[64];
	if (dirfd == FD_CWD)
		snprintf(link, sizeof link, "/proc/%d/cwd", (int)tid);
	else
		snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, dirfd);
	int n = as_owner(tid, do_readlink, link, out, cap);
	if (n <= 0 || out[0] != '/')
		return -1;
	out[n] = 0;
	return n;
}

/* The absolute, normalised path of one path argument into out (PATH_CAP bytes): its length, or
 * -1 when it cannot be made. */
static int resolve(struct task *t, const struct path_arg *p, int is_exec, char *out)
{
	char raw[PATH_CAP], base[PATH_CAP];
	int n = read_string(t, p->addr, raw, sizeof raw);
	if (n < 0) {
		counters[C_PATH_READ_FAILED]++;
		return -1;
	}
	if (n == 0) {
		if (!(is_exec && p->empty_ok))
			return -1; /* "" is an fstat-like call on a descriptor, or ENOENT */
		n = proc_link(t->tid, p->dirfd, out, PATH_CAP);
		if (n < 0)
			counters[C_UNRESOLVED]++;
		return n;
	}
	base[0] = 0;
	if (raw[0] != '/') {
		counters[C_RELATIVE]++;
		if (proc_link(t->tid, p->dirfd, base, sizeof base) < 0) {
			counters[C_UNRESOLVED]++;
			return -1;
		}
	}
	n = path_join(out, PATH_CAP, base, raw);
	if (n < 0) {
		counters[C_UNRESOLVED]++;
		return -1;
	}
	counters[C_PATHS_DECODED]++;
	return n;
}

/* ---- recording ---- */

void record_path(const char *path, uint8_t op, int err, uint64_t n)
{
	char key[PATH_CAP + 3];
	size_t len = strlen(path);
	if (len > PATH_CAP)
		len = PATH_CAP;
	key[0] = (char)op;
	key[1] = (char)(err & 0xff);
	key[2] = (char)((err >> 8) & 0xff);
	memcpy(key + 3, path, len);
	agg_add(&path_aggs, key, (uint32_t)len + 3, n);
}

static void count_syscall(int abi, uint64_t nr)
{
	if (nr < SYS_FLAT) {
		sys_flat[abi][nr]++;
		return;
	}
	uint64_t key = ((uint64_t)abi << 32) | (nr & 0xffffffffu);
	agg_add(&sys_counts, &key, sizeof key, 1);
}

static void read_argv(struct task *t, uint64_t argv, unsigned word)
{
	char buf[PATH_CAP];
	size_t cap = 0;
	for (uint32_t i = 0; i < 256 && argv; i++) {
		uint64_t ptr = 0;
		if (mem_read(t, argv + (uint64_t)i * word, (char *)&ptr, word, 0) != (int)word)
			break;
		if (word == 4)
			ptr &= 0xffffffffu;
		if (!ptr)
			break;
		int n = read_string(t, ptr, buf, sizeof buf);
		if (n < 0)
			break;
		if (t->argv_len + (size_t)n + 1 > cap) {
			cap = (t->argv_len + (size_t)n + 1) * 2;
			t->argv = xrealloc(t->argv, cap);
		}
		memcpy(t->argv + t->argv_len, buf, (size_t)n + 1);
		t->argv_len += (uint32_t)n + 1;
		t->argc++;
	}
}

static pid_t parent_of(pid_t pid)
{
	char path[32], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	int ppid = 0;
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

static void log_exec(struct task *t, pid_t pid)
{
	counters[C_EXECS]++;
	if (!t->npaths)
		return;
	if (nexecs >= EXEC_LOG_MAX) {
		counters[C_EXEC_LOG_DROPPED]++;
		return;
	}
	if (nexecs == execs_cap) {
		execs_cap = execs_cap ? execs_cap * 2 : 64;
		execs = xrealloc(execs, execs_cap * sizeof *execs);
	}
	struct exec_rec *e = &execs[nexecs++];
	e->pid = pid;
	e->ppid = parent_of(pid);
	e->path = strdup(pending_path(t, 0));
	e->argv = t->argv_len ? xmalloc(t->argv_len) : NULL;
	if (e->argv)
		memcpy(e->argv, t->argv, t->argv_len);
	e->argv_len = t->argv_len;
	e->argc = t->argc;
}

/* ---- syscall stops ---- */

static int view_of(struct task *t, int *op, struct sc_view *v)
{
	if (topts.use_sysinfo) {
		struct sys_info si;
		memset(&si, 0, sizeof si);
		long r = ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof si, &si);
		if (r > 0) {
			*op = si.op;
			if (si.op == SI_EXIT) {
				v->ret = si.u.exit.rval;
				return 0;
			}
			if (si.op != SI_ENTRY && si.op != SI_SECCOMP)
				return -1;
			/* entry and seccomp share the nr/args layout */
			v->nr = si.u.entry.nr;
			memcpy(v->args, si.u.entry.args, sizeof v->args);
			if (si.arch == abis[ABI_NATIVE].audit_arch) {
				v->abi = ABI_NATIVE;
				if (abis[ABI_X32].table && (v->nr & 0x40000000u)) {
					v->abi = ABI_X32;
					v->nr &= ~(uint64_t)0x40000000u;
				}
			} else {
				v->abi = ABI_COMPAT;
			}
			return 0;
		}
		if (errno == EIO || errno == EINVAL) {
			topts.use_sysinfo = 0; /* kernel before 5.3 */
			warn_add("PTRACE_GET_SYSCALL_INFO unavailable: reading registers");
		} else {
			return -1;
		}
	}
	if (arch_regs(t->tid, v) != 0)
		return -1;
	if (*op == 0) /* under seccomp, syscall stops are only the exits we asked for */
		*op = (topts.seccomp || t->in_syscall) ? SI_EXIT : SI_ENTRY;
	return 0;
}

static void on_entry(struct task *t, struct sc_view *v)
{
	enum kind kind = kind_of(v->abi, v->nr);
	if (!armed) {
		if (t->tid != first_child || (kind != K_EXECVE && kind != K_EXECVEAT))
			return;
		armed = 1;
	}
	count_syscall(v->abi, v->nr);
	if (kind == K_NONE)
		return;
	struct decoded d;
	decode(kind, v->args, &d, read_u64, t);
	if (kind == K_SOCKET) {
		int64_t key[2] = {d.family, d.type & 0xff};
		agg_add(&sockets, key, sizeof key, 1);
		return;
	}
	if (kind == K_BIND || kind == K_CONNECT) {
		unsigned char sa[112];
		size_t len = d.socklen < sizeof sa - 1 ? d.socklen : sizeof sa - 1;
		if (len < 4 || mem_read(t, d.sockaddr, (char *)sa, len, 0) != (int)len)
			return;
		unsigned family = sa[0] | (unsigned)sa[1] << 8;
		if (family == 1 && sa[2]) { /* AF_UNIX with a path (not abstract, not unnamed) */
			sa[len] = 0;
			char base[PATH_CAP], full[PATH_CAP];
			const char *rel = (const char *)sa + 2;
			base[0] = 0;
			if (rel[0] != '/' && proc_link(t->tid, FD_CWD, base, sizeof base) < 0) {
				counters[C_UNRESOLVED]++;
				return;
			}
			int n = path_join(full, sizeof full, base, rel);
			if (n < 0)
				return;
			pending_add(t, kind == K_BIND ? OP_BIND : OP_CONNECT, full, (size_t)n);
			t->awaiting_exit = 1;
		} else if (kind == K_BIND && (family == 2 || family == 10)) {
			t->port = sa[2] << 8 | sa[3];
			t->awaiting_exit = 1;
		}
		return;
	}
	for (int i = 0; i < d.npaths; i++) {
		char full[PATH_CAP];
		int n = resolve(t, &d.path[i], d.exec, full);
		if (n >= 0)
			pending_add(t, d.path[i].op, full, (size_t)n);
	}
	if (d.exec && t->npaths)
		read_argv(t, d.argv_addr, abis[v->abi].word);
	if (t->npaths)
		t->awaiting_exit = 1;
}

static void on_exit_stop(struct task *t, int64_t ret)
{
	int err = (ret < 0 && ret >= -4095) ? (int)-ret : 0;
	if (err >= 512 && err <= 516) { /* ERESTART*: the call is made again */
		pending_clear(t);
		return;
	}
	for (int i = 0; i < t->npaths; i++) {
		char *key = t->keys + t->key_at[i];
		key[1] = (char)(err & 0xff);
		key[2] = (char)((err >> 8) & 0xff);
		agg_add(&path_aggs, key, t->key_len[i], 1);
	}
	if (t->port >= 0 && !err) {
		uint32_t port = (uint32_t)t->port;
		agg_add(&ports, &port, sizeof port, 1);
	}
	pending_clear(t);
}

static void on_syscall_stop(struct task *t, int seccomp)
{
	struct sc_view v;
	int op = seccomp ? SI_SECCOMP : 0;
	memset(&v, 0, sizeof v);
	if (view_of(t, &op, &v) != 0)
		return;
	if (op == SI_EXIT) {
		t->in_syscall = 0;
		if (t->awaiting_exit)
			on_exit_stop(t, v.ret);
		return;
	}
	if (op == SI_SECCOMP)
		counters[C_SECCOMP_STOPS]++;
	else
		t->in_syscall = 1;
	pending_clear(t);
	on_entry(t, &v);
}

static void on_exec_event(pid_t pid)
{
	unsigned long former = 0;
	ptrace(PTRACE_GETEVENTMSG, pid, 0, &former);
	struct task *t = task_get(pid, 1);
	if (former && (pid_t)former != pid) {
		struct task *old = task_get((pid_t)former, 0);
		if (old) {
			pending_clear(t); /* the new pid's own entry: replaced by the former's */
			mem_close(t);
			free(t->keys);
			t->keys = NULL;
			struct task moved = *old;
			moved.tid = pid;
			old->keys = NULL;
			old->argv = NULL;
			old->npaths = 0;
			old->memfd = 0;
			trace_forget((pid_t)former);
			t = task_get(pid, 1);
			*t = moved;
		}
	}
	mem_close(t); /* a new address space */
	if (armed)
		log_exec(t, pid);
}

static void resume(pid_t tid, const struct task *t, int sig)
{
	int req = (!topts.seccomp || (t && t->awaiting_exit)) ? PTRACE_SYSCALL : PTRACE_CONT;
	ptrace(req, tid, 0, (void *)(uintptr_t)sig);
}

int trace_event(pid_t pid, int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		trace_forget(pid);
		return 1;
	}
	if (!WIFSTOPPED(status))
		return 0;
	struct task *t = task_get(pid, 1);
	int sig = WSTOPSIG(status), event = (status >> 16) & 0xff, inject = 0;
	counters[C_STOPS]++;
	if (sig == (SIGTRAP | 0x80)) {
		counters[C_SYSCALL_STOPS]++;
		on_syscall_stop(t, 0);
	} else if (event == PTRACE_EVENT_SECCOMP) {
		on_syscall_stop(t, 1);
	} else if (event == PTRACE_EVENT_EXEC) {
		on_exec_event(pid);
		t = task_get(pid, 0); /* the table may have moved */
	} else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
		   event == PTRACE_EVENT_CLONE) {
		unsigned long child = 0;
		if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &child) == 0 && child)
			task_get((pid_t)child, 1);
		t = task_get(pid, 0);
	} else if (event == PTRACE_EVENT_STOP) {
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			ptrace(PTRACE_LISTEN, pid, 0, 0); /* group-stop: stay stopped until SIGCONT */
			return 0;
		}
	} else if (event == 0) {
		counters[C_SIGNAL_STOPS]++;
		inject = sig;
	}
	resume(pid, t, inject);
	return 0;
}

/* ---- setup ---- */

void trace_init(void)
{
	decode_init();
}

int trace_seize(pid_t child)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		    PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
		    PTRACE_O_TRACESECCOMP;
	if (ptrace(PTRACE_SEIZE, child, 0, (void *)opts) != 0)
		return -errno;
	/* PTRACE_SYSCALL mode needs a first stop to start from (seccomp stops come by themselves) */
	if (!topts.seccomp && ptrace(PTRACE_INTERRUPT, child, 0, 0) != 0)
		return -errno;
	first_child = child;
	task_get(child, 1);
	return 0;
}

/* Offset of the low 32 bits of syscall argument i (the kernel reads int arguments there). */
static unsigned arg_low(unsigned i)
{
	unsigned at = (unsigned)offsetof(struct seccomp_data, args) + 8 * i;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	at += 4;
#endif
	return at;
}

/* Appends, with the syscall number in A, the block that allows nr when its flags argument is
 * exactly AT_EMPTY_PATH and its descriptor is not negative, else traces it; 7 instructions. */
static int fd_stat_block(struct sock_filter *p, unsigned nr, unsigned flags_arg)
{
	int n = 0;
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 6);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_low(flags_arg));
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AT_EMPTY_PATH_FLAG, 0, 2);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_low(0));
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80000000u, 0, 1);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return n;
}

int trace_install_filter(void)
{
	struct sock_filter prog[96];
	int n = 0, hot[48], nhot = 0, stat_nr[4], stat_arg[4], nstat = 0;
	if (topts.allow_hot) {
		for (int i = 0; hot_syscalls[i] && nhot < 48; i++) {
			int nr = syscall_nr(ABI_NATIVE, hot_syscalls[i]);
			if (nr >= 0)
				hot[nhot++] = nr;
		}
		for (int i = 0; fd_stats[i].name && nstat < 4; i++) {
			int nr = syscall_nr(ABI_NATIVE, fd_stats[i].name);
			if (nr >= 0) {
				stat_nr[nstat] = nr;
				stat_arg[nstat++] = (int)fd_stats[i].flags_arg;
			}
		}
	}
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						 abis[ABI_NATIVE].audit_arch, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	for (int i = 0; i < nhot; i++) /* jump over the rest and the stat blocks to the final ALLOW */
		prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)hot[i],
						       (uint8_t)(nhot - i + 7 * nstat), 0), n++;
	for (int i = 0; i < nstat; i++)
		n += fd_stat_block(prog + n, (unsigned)stat_nr[i], (unsigned)stat_arg[i]);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog fprog = {(unsigned short)n, prog};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
		return -errno;
	return 0;
}

/* ---- report ---- */

static void report_execs(struct out *o)
{
	for (size_t i = 0; i < nexecs; i++) {
		struct exec_rec *e = &execs[i];
		out_str(o, "exec ");
		out_u64(o, (uint64_t)e->pid);
		out_str(o, " ");
		out_u64(o, (uint64_t)e->ppid);
		out_str(o, " ");
		out_esc(o, e->path, strlen(e->path));
		out_str(o, " ");
		out_u64(o, e->argc);
		for (uint32_t off = 0; off < e->argv_len; off += (uint32_t)strlen(e->argv + off) + 1) {
			out_str(o, " ");
			out_esc(o, e->argv + off, strlen(e->argv + off));
		}
		out_str(o, "\n");
	}
}

static void report_sys(struct out *o, uint64_t abi, uint64_t nr, uint64_t count)
{
	out_str(o, "sys ");
	out_str(o, abis[abi].name);
	out_str(o, " ");
	out_u64(o, nr);
	out_str(o, " ");
	out_u64(o, count);
	out_str(o, "\n");
}

static void report_allowed(struct out *o, const char *name)
{
	int nr = syscall_nr(ABI_NATIVE, name);
	if (nr < 0)
		return;
	out_str(o, "allowed ");
	out_str(o, abis[ABI_NATIVE].name);
	out_str(o, " ");
	out_u64(o, (uint64_t)nr);
	out_str(o, "\n");
}

void trace_report(struct out *o)
{
	for (int abi = 0; abi < ABI_COUNT; abi++)
		for (uint64_t nr = 0; nr < SYS_FLAT; nr++)
			if (sys_flat[abi][nr])
				report_sys(o, (uint64_t)abi, nr, sys_flat[abi][nr]);
	for (size_t i = 0; i < sys_counts.cap; i++) {
		struct agg_entry *e = &sys_counts.slots[i];
		if (!e->key)
			continue;
		uint64_t key;
		memcpy(&key, e->key, sizeof key);
		report_sys(o, key >> 32, key & 0xffffffffu, e->count);
	}
	if (topts.seccomp && topts.allow_hot) {
		for (int i = 0; hot_syscalls[i]; i++)
			report_allowed(o, hot_syscalls[i]);
		for (int i = 0; fd_stats[i].name; i++)
			report_allowed(o, fd_stats[i].name);
	}
	for (size_t i = 0; i < path_aggs.cap; i++) {
		struct agg_entry *e = &path_aggs.slots[i];
		if (!e->key)
			continue;
		unsigned char *k = (unsigned char *)e->key;
		out_str(o, "path ");
		out_str(o, op_names[k[0]]);
		out_str(o, " ");
		out_u64(o, (uint64_t)(k[1] | k[2] << 8));
		out_str(o, " ");
		out_u64(o, e->count);
		out_str(o, " ");
		out_esc(o, e->key + 3, e->len - 3);
		out_str(o, "\n");
	}
	for (size_t i = 0; i < sockets.cap; i++) {
		struct agg_entry *e = &sockets.slots[i];
		if (!e->key)
			continue;
		int64_t key[2];
		memcpy(key, e->key, sizeof key);
		out_str(o, "socket ");
		out_i64(o, key[0]);
		out_str(o, " ");
		out_i64(o, key[1]);
		out_str(o, " ");
		out_u64(o, e->count);
		out_str(o, "\n");
	}
	for (size_t i = 0; i < ports.cap; i++) {
		struct agg_entry *e = &ports.slots[i];
		if (!e->key)
			continue;
		uint32_t port;
		memcpy(&port, e->key, sizeof port);
		out_str(o, "bind-port ");
		out_u64(o, port);
		out_str(o, "\n");
	}
	report_execs(o);
}
