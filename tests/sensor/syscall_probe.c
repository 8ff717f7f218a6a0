/* Syscalls Docker's default seccomp profile decides by capability or argument: one line per
 * probe, "NAME ok" or "NAME errno N". tests/sensor/test_default_seccomp.py runs it under the
 * sensor (in a container with SYS_ADMIN and SYS_PTRACE) and in a plain container and compares
 * the two outputs line by line. The arguments are chosen so that a call the filter lets through
 * gives a result other than EPERM (EBADF, EFAULT, EINVAL, success), so the filter's decision is
 * visible. Children made by clone/clone3 exit at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif
#define FAN_CLASS_NOTIF 0x00000000
#define FAN_REPORT_FID 0x00000200

static void report(const char *name, long r)
{
	if (r < 0)
		printf("%s errno %d\n", name, errno);
	else
		printf("%s ok\n", name);
	fflush(stdout);
}

/* A raw clone/clone3 that created a child: the child leaves at once, the parent reaps it. */
static long forked(long r)
{
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, __WALL);
	return r;
}

/* flags are the first argument on x86_64, i386, aarch64 and arm */
static long raw_clone(unsigned long flags)
{
	return forked(syscall(SYS_clone, flags, 0, 0, 0, 0));
}

static long raw_clone3(void)
{
	uint64_t args[11];
	memset(args, 0, sizeof args);
	args[4] = SIGCHLD; /* exit_signal */
	return forked(syscall(435 /* clone3 */, args, (size_t)88));
}

static long sock(int family, int type)
{
	long fd = socket(family, type, 0);
	if (fd >= 0)
		close((int)fd);
	return fd;
}

int main(void)
{
	pid_t self = getpid();
	report("unshare-none", syscall(SYS_unshare, 0));
	report("unshare-newuser", syscall(SYS_unshare, CLONE_NEWUSER));
	report("unshare-newns", syscall(SYS_unshare, CLONE_NEWNS));
	report("setns", syscall(SYS_setns, -1, 0));
	report("mount", syscall(SYS_mount, "none", "/nonexistent-mnt", "tmpfs", 0, NULL));
	report("umount2", syscall(SYS_umount2, "/nonexistent-mnt", 0));
	report("clone-plain", raw_clone(SIGCHLD));
	report("clone-newuser", raw_clone(CLONE_NEWUSER | SIGCHLD));
	report("clone-newns", raw_clone(CLONE_NEWNS | SIGCHLD));
	report("clone3", raw_clone3());
	report("bpf", syscall(SYS_bpf, -1, NULL, 0));
	report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	report("process_vm_readv", syscall(SYS_process_vm_readv, self, NULL, 0, NULL, 0, 0));
	report("process_vm_writev", syscall(SYS_process_vm_writev, self, NULL, 0, NULL, 0, 0));
	report("kcmp", syscall(SYS_kcmp, self, self, 0 /* KCMP_FILE */, 0, 0));
	report("pidfd_getfd", syscall(438 /* pidfd_getfd */, -1, 0, 0));
	report("process_madvise", syscall(440 /* process_madvise */, -1, NULL, 0, 0, 0));
	report("personality-query", syscall(SYS_personality, 0xffffffffUL));
	report("personality-linux32", syscall(SYS_personality, 0x0008UL));
	syscall(SYS_personality, 0UL);
	report("personality-bsd", syscall(SYS_personality, 0x0006UL));
	syscall(SYS_personality, 0UL);
	report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0));
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
	report("socket-inet", sock(AF_INET, SOCK_STREAM));
	report("socket-vsock", sock(AF_VSOCK, SOCK_STREAM));
	report("socket-alg", sock(AF_ALG, SOCK_SEQPACKET));
	report("fanotify_init", syscall(SYS_fanotify_init, FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY));
	report("fsopen", syscall(430 /* fsopen */, "tmpfs", 0));
	report("open_tree", syscall(428 /* open_tree */, -1, "/", 0));
	report("sethostname", syscall(SYS_sethostname, "x", 1));
	report("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0));
	report("get_mempolicy", syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0));
	report("quotactl", syscall(SYS_quotactl, 0, NULL, 0, NULL));
#ifdef SYS_lookup_dcookie
	report("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0));
#endif
	report("acct", syscall(SYS_acct, NULL));
	return 0;
}
