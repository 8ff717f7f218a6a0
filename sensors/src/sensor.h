/* slimmer sensor: shared declarations. See sensors/README.md and sensors/REPORT.md. */
#ifndef SENSOR_H
#define SENSOR_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REPORT_VERSION 2
#define PATH_CAP 4096

/* ---- path access kinds: the values are slimmer.observation.Op values ---- */
enum op {
	OP_OPEN_READ, OP_OPEN_WRITE, OP_OPEN_CREATE, OP_EXEC, OP_STAT, OP_LSTAT, OP_ACCESS,
	OP_READLINK, OP_CHDIR, OP_MKDIR, OP_MKNOD, OP_UNLINK, OP_RMDIR, OP_RENAME_FROM,
	OP_RENAME_TO, OP_LINK_FROM, OP_LINK_TO, OP_SYMLINK, OP_TRUNCATE, OP_CHMOD, OP_CHOWN,
	OP_UTIME, OP_XATTR_READ, OP_XATTR_WRITE, OP_INOTIFY, OP_BIND, OP_CONNECT, OP_COUNT
};
extern const char *const op_names[OP_COUNT];

/* ---- ABIs ---- */
enum abi { ABI_NATIVE, ABI_COMPAT, ABI_X32, ABI_COUNT };
struct sc_name { /* one entry of the generated tables (syscalls_gen.h) */
	unsigned nr;
	const char *name;
};
struct abi_info {
	const char *name;            /* report name: x86_64, i386, x32, aarch64, arm */
	uint32_t audit_arch;
	unsigned word;               /* pointer size in the tracee: 8 or 4 */
	const struct sc_name *table; /* generated number -> name table */
	size_t count;
};
extern const struct abi_info abis[ABI_COUNT];
extern const char *const native_arch; /* "x86_64" or "aarch64" */

/* ---- decoding (decode.c): syscall number + arguments -> path accesses ---- */
enum kind {
	K_NONE, K_OPEN, K_OPENAT, K_OPENAT2, K_CREAT, K_STAT, K_LSTAT, K_FSTATAT, K_STATX,
	K_ACCESS, K_FACCESSAT, K_READLINK, K_READLINKAT, K_EXECVE, K_EXECVEAT, K_CHDIR, K_MKDIR,
	K_MKDIRAT, K_MKNOD, K_MKNODAT, K_UNLINK, K_UNLINKAT, K_RMDIR, K_RENAME, K_RENAMEAT,
	K_LINK, K_LINKAT, K_SYMLINK, K_SYMLINKAT, K_TRUNCATE, K_CHMOD, K_FCHMODAT, K_CHOWN,
	K_FCHOWNAT, K_UTIME, K_UTIMENSAT, K_FUTIMESAT, K_STATFS, K_XATTR_R, K_XATTR_W,
	K_XATTRAT_R, K_XATTRAT_W, K_INOTIFY, K_BIND, K_CONNECT, K_SOCKET, K_COUNT
};

#define FD_CWD (-100)
struct path_arg {
	int dirfd;       /* FD_CWD or a descriptor of the tracee */
	uint64_t addr;   /* string address in the tracee */
	uint8_t op;
	uint8_t empty_ok; /* AT_EMPTY_PATH: "" means the descriptor itself */
};
struct decoded {
	int npaths;
	struct path_arg path[2];
	uint8_t needs_exit; /* the result (errno) matters */
	uint8_t exec;       /* execve/execveat: argv at argv_addr */
	uint64_t argv_addr;
	uint64_t sockaddr, socklen; /* bind/connect */
	int64_t family, type;       /* socket */
};
/* Reads a 64-bit value (open_how.flags) from the tracee; returns 0 on success. */
typedef int (*read_u64_fn)(void *ctx, uint64_t addr, uint64_t *out);

/* Kind tables per ABI, built from the generated names: kind_of(abi, nr). */
void decode_init(void);
enum kind kind_of(int abi, uint64_t nr);
int decode(enum kind kind, const uint64_t a[6], struct decoded *d, read_u64_fn rd, void *ctx);
int syscall_nr(int abi, const char *name); /* -1 when the ABI has no such call */

/* ---- paths (path.c) ---- */
/* Joins base and rel (rel absolute: base ignored) and normalises lexically into out.
 * Returns the length, or -1 when it does not fit. */
int path_join(char *out, size_t cap, const char *base, const char *rel);

/* ---- aggregation tables (agg.c) ---- */
struct agg_entry {
	uint64_t hash;
	char *key;
	uint32_t len;
	uint32_t extra;
	uint64_t count;
};
struct agg {
	struct agg_entry *slots;
	size_t cap, used;
};
struct agg_entry *agg_add(struct agg *t, const void *key, uint32_t len, uint64_t n);

/* ---- escaped, buffered output (out.c) ---- */
struct out {
	int fd;
	int failed;
	size_t len;
	char buf[65536];
};
void out_bytes(struct out *o, const void *p, size_t n);
void out_str(struct out *o, const char *s);
void out_esc(struct out *o, const void *p, size_t n); /* escapes bytes outside 0x21..0x7e and \ */
void out_u64(struct out *o, uint64_t v);
void out_i64(struct out *o, int64_t v);
int out_flush(struct out *o);

/* ---- counters ---- */
enum counter {
	C_STOPS, C_SECCOMP_STOPS, C_SYSCALL_STOPS, C_SIGNAL_STOPS, C_TASKS, C_EXECS,
	C_PATHS_DECODED, C_PATH_READ_FAILED, C_RELATIVE, C_UNRESOLVED, C_VM_READV_FALLBACK,
	C_EXEC_LOG_DROPPED, C_FAN_EVENTS, C_FAN_OVERFLOWS, C_FAN_OWN, C_FAN_READLINK_FAILED,
	C_SIGNALS_FORWARDED, C_KILLED_AFTER_GRACE, C_CPU_PINNED, C_RUNTIME_MS, C_COUNT
};
extern const char *const counter_names[C_COUNT];
extern uint64_t counters[C_COUNT];

/* ---- user (user.c): the image's USER as the engine applies it ---- */
#define MAX_GROUPS 256
struct user_spec {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[MAX_GROUPS];
	char home[PATH_CAP];
	char error[640]; /* non-empty: the engine would refuse to start */
};
/* Resolves spec ("", name, uid, name:group, uid:gid) against passwd and group file contents. */
void user_resolve(const char *spec, const char *passwd, const char *group, struct user_spec *u);
int user_verify(const struct user_spec *u); /* after the switch: 0 when the ids are u's */

/* ---- fanotify (fan.c) ---- */
int fan_start(const char *skip_prefix, char *mode, size_t mode_cap);
void fan_stop(void);                      /* drains the queue and joins the reader thread */
void fan_report(struct out *o);

/* ---- tracing (trace.c) ---- */
struct trace_opts {
	int seccomp;    /* seccomp-bpf + PTRACE_O_TRACESECCOMP, else PTRACE_SYSCALL */
	int allow_hot;  /* let the documented hot syscalls through the filter */
	int use_sysinfo; /* PTRACE_GET_SYSCALL_INFO (else registers) */
};
extern struct trace_opts topts;
void trace_init(void);
int trace_install_filter(void);       /* in the child, before exec: 0 or -errno */
int trace_seize(pid_t child);         /* 0 or -errno */
/* Handles one waitpid() result of a traced task; returns 1 when the task is gone. */
int trace_event(pid_t pid, int status);
void trace_report(struct out *o);
void record_path(const char *path, uint8_t op, int err, uint64_t n);

/* One syscall stop, from PTRACE_GET_SYSCALL_INFO or from the registers (arch.c). */
struct sc_view {
	int abi;
	uint64_t nr;
	uint64_t args[6];
	int64_t ret; /* at exit: the return value (-errno on error) */
};
int arch_regs(pid_t tid, struct sc_view *v);

/* ---- Docker's default profile for the target's capabilities (deny.c) ---- */
int deny_select(const char *id);      /* --default-seccomp: a profile id or "none"; -1 unknown */
void deny_prepare(int seccomp_error); /* before the fork: 0, or why seccomp is unavailable */
int deny_install(uint64_t drop);      /* in the child, while it has SYS_ADMIN: 0 or -errno */
struct sock_filter;
/* The filter for a bounding set and kernel (major << 16 | minor): its length, or -errno. */
int deny_build(uint64_t caps, uint32_t kernel, const struct sock_filter **program);
void deny_report(struct out *o);      /* the "default-seccomp" record */

/* ---- the report's file (report_file.c) ---- */
int wait_alone(unsigned timeout_ms); /* until no other process is left: 0, or -1 at timeout */
int report_create(const char *path); /* a new regular file at path: fd, or -errno */

/* ---- PID 1 duties seen from the target (pid1.c): stop signal handling, orphans, zombies ---- */
void pid1_start(pid_t target);    /* samples /proc in a thread while the target runs */
void pid1_at_stop(pid_t target);  /* async-signal-safe: the target's signal masks, now */
void pid1_stop(void);
void pid1_report(struct out *o);

/* ---- capabilities (caps.c) ---- */
int cap_number(const char *name); /* "SYS_ADMIN" / "CAP_SYS_ADMIN" / "21" -> 21, else -1 */
int caps_drop(const uint64_t mask); /* bounding, ambient, inheritable, permitted, effective */

/* ---- util ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *read_small_file(const char *path, int *err); /* NUL-terminated, <= 4 MiB */
void warn_add(const char *fmt, ...);
void warnings_report(struct out *o);

/* ---- the image's tree and contents from a fresh container (walk.c, sensors/WALK.md) ---- */
int serve_main(int argc, char **argv); /* sensor --serve ... */

#endif
