/* What one observed syscall costs at the least, per observation mechanism, on this machine.
 *
 * A child makes N stat() calls of one path; the parent observes each call in one way, both on
 * one CPU (as the sensor runs). Prints, per mechanism, the child's loop time and the CPU time of
 * both processes:
 *
 *   floor MODE WALL_NS CPU_NS
 *
 *   plain          no observer
 *   pipe           a pipe round trip to the parent per call: the cost of waking another
 *                  process and coming back, with no observation at all (any synchronous
 *                  observer pays at least this)
 *   unotif         seccomp user notification, the parent reads the path and answers CONTINUE
 *                  (no result: the supervisor never sees the syscall's return value)
 *   ptrace-entry   seccomp trace stop, the parent reads the path, PTRACE_CONT (no result)
 *   ptrace-result  the same plus an exit stop to read the result (what the sensor does)
 *
 * Run by bench/bench_sensor.py --floors inside the bench image (SYS_ADMIN, SYS_PTRACE). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif

static const char target[] = "/etc/passwd";

struct sys_info {
	uint8_t op, pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	uint64_t nr_or_rval, args[6];
	uint32_t ret_data;
};

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_ns(void)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	struct timeval t[4] = {self.ru_utime, self.ru_stime, kids.ru_utime, kids.ru_stime};
	long long sum = 0;
	for (int i = 0; i < 4; i++)
		sum += t[i].tv_sec * 1000000000LL + t[i].tv_usec * 1000LL;
	return sum;
}

static int sys_stat(void)
{
	struct stat st;
#ifdef SYS_stat
	return (int)syscall(SYS_stat, target, &st);
#else
	return (int)syscall(SYS_newfstatat, AT_FDCWD, target, &st, 0);
#endif
}

static int stat_nr(void)
{
#ifdef SYS_stat
	return SYS_stat;
#else
	return SYS_newfstatat;
#endif
}

static int install(unsigned action, unsigned flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)stat_nr(), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = {4, f};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &p);
}

static void read_path(pid_t pid, uint64_t addr)
{
	char path[256];
	struct iovec local = {path, sizeof path};
	struct iovec remote = {(void *)(uintptr_t)addr, 4096 - (addr & 4095)};
	if (remote.iov_len > sizeof path)
		remote.iov_len = sizeof path;
	local.iov_len = remote.iov_len;
	process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

static void send_fd(int sock, int fd)
{
	char control[CMSG_SPACE(sizeof(int))] = {0}, byte = 0;
	struct iovec io = {&byte, 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = sizeof control};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	if (sendmsg(sock, &m, 0) != 1)
		_exit(3);
}

static int recv_fd(int sock)
{
	char control[CMSG_SPACE(sizeof(int))], byte;
	struct iovec io = {&byte, 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = sizeof control};
	int fd = -1;
	if (recvmsg(sock, &m, 0) == 1 && CMSG_FIRSTHDR(&m))
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
	return fd;
}

/* The observed child: N stat calls, then its loop time on `out`. */
static void child(const char *mode, long n, int out, int sock, int ping, int pong)
{
	if (strncmp(mode, "ptrace", 6) == 0) {
		raise(SIGSTOP); /* until the parent has seized it */
		if (install(SECCOMP_RET_TRACE, 0) < 0)
			_exit(3);
	} else if (strcmp(mode, "unotif") == 0) {
		int fd = install(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
		if (fd < 0)
			_exit(3);
		send_fd(sock, fd);
		close(fd);
	}
	char byte = 0;
	int piped = strcmp(mode, "pipe") == 0;
	long long start = now_ns();
	for (long i = 0; i < n; i++) {
		sys_stat();
		if (piped && (write(ping, &byte, 1) != 1 || read(pong, &byte, 1) != 1))
			_exit(4);
	}
	long long took = now_ns() - start;
	_exit(write(out, &took, sizeof took) == sizeof took ? 0 : 2);
}

static void observe_ptrace(pid_t pid, int result)
{
	int status;
	waitpid(pid, &status, WUNTRACED);
	ptrace(PTRACE_SEIZE, pid, 0, (void *)(PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD));
	kill(pid, SIGCONT);
	while (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status)) {
		int sig = WSTOPSIG(status), request = PTRACE_CONT, inject = 0;
		struct sys_info info;
		if (status >> 16 == PTRACE_EVENT_SECCOMP) {
			ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof info, &info);
			read_path(pid, info.args[SYS_stat == stat_nr() ? 0 : 1]);
			if (result)
				request = PTRACE_SYSCALL;
		} else if (sig == (SIGTRAP | 0x80)) {
			ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof info, &info);
		} else if (status >> 16 == 0 && sig != SIGSTOP && sig != SIGCONT) {
			inject = sig;
		}
		ptrace(request, pid, 0, (void *)(intptr_t)inject);
	}
}

static void observe_unotif(int sock)
{
	int fd = recv_fd(sock);
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	for (;;) {
		memset(&req, 0, sizeof req);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
			break; /* the child is gone */
		read_path(req.pid, req.data.args[SYS_stat == stat_nr() ? 0 : 1]);
		memset(&resp, 0, sizeof resp);
		resp.id = req.id;
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

static int run(const char *mode, long n)
{
	int result[2], sock[2], ping[2], pong[2];
	if (pipe(result) || socketpair(AF_UNIX, SOCK_STREAM, 0, sock) || pipe(ping) || pipe(pong))
		return 1;
	long long cpu0 = cpu_ns();
	pid_t pid = fork();
	if (pid == 0)
		child(mode, n, result[1], sock[0], ping[1], pong[0]);
	close(result[1]);
	if (strcmp(mode, "pipe") == 0) {
		char byte;
		for (long i = 0; i < n; i++)
			if (read(ping[0], &byte, 1) != 1 || write(pong[1], &byte, 1) != 1)
				break;
	} else if (strncmp(mode, "ptrace", 6) == 0) {
		observe_ptrace(pid, strcmp(mode, "ptrace-result") == 0);
	} else if (strcmp(mode, "unotif") == 0) {
		observe_unotif(sock[1]);
	}
	long long took = -1;
	int status;
	if (read(result[0], &took, sizeof took) != sizeof took)
		took = -1;
	waitpid(pid, &status, 0);
	long long cpu = cpu_ns() - cpu0;
	int fds[] = {result[0], sock[0], sock[1], ping[0], ping[1], pong[0], pong[1]};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		close(fds[i]);
	if (took < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("floor %s failed\n", mode);
		return 1;
	}
	printf("floor %s %lld %lld\n", mode, took, cpu);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"plain", "pipe", "unotif", "ptrace-entry",
					    "ptrace-result"};
	long n = argc > 1 ? atol(argv[1]) : 100000;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof one, &one);
	int failed = 0;
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		failed |= run(modes[i], n);
	return failed;
}
