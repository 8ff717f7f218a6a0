/* slimmer sensor: PID 1 of the profiling container. Usage in sensors/README.md.
 *
 * Starts fanotify, forks the target (as the image's USER, without the sensor's extra
 * capabilities, under ptrace), forwards signals, reaps orphans, and on the target's exit (or
 * after the grace period following a forwarded signal) kills what is left, drains fanotify and
 * writes the report atomically. Exits with the target's status. */
#include "sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char usage[] =
	"usage: sensor [--user SPEC] [--image-home] [--grace SECONDS] [--report PATH]\n"
	"              [--stop-signal SIG] [--drop-cap CAP]... [--no-fanotify] [--no-ptrace]\n"
	"              [--trace-mode seccomp|syscall] [--allow-hot] [--no-syscall-info]\n"
	"              [--all-cpus] [--default-seccomp PROFILE|none] [--unset-env NAME]...\n"
	"              -- ARGV...\n";

struct options {
	const char *user, *report;
	int image_home, no_fanotify, no_ptrace, stop_signal, all_cpus;
	double grace;
	uint64_t drop;
	char **argv;
};

#define ALONE_TIMEOUT_MS 5000

static volatile sig_atomic_t target_pid, pending_sig, stopping;
static int stop_signal_opt;
static struct itimerval grace_timer;

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* Forwards the signal; the stop signal (any forwarded one without --stop-signal) also starts
 * the grace period. */
static void on_signal(int sig)
{
	int stop = !stopping && (!stop_signal_opt || sig == stop_signal_opt);
	counters[C_SIGNALS_FORWARDED]++;
	if (stop && target_pid > 0)
		pid1_at_stop(target_pid); /* before the target can react to the signal */
	if (target_pid > 0)
		kill(target_pid, sig);
	else
		pending_sig = sig;
	if (stop) {
		stopping = 1;
		setitimer(ITIMER_REAL, &grace_timer, NULL);
	}
}

/* The grace period is over: kill everything but PID 1 (the sensor). */
static void on_alarm(int sig)
{
	(void)sig;
	counters[C_KILLED_AFTER_GRACE]++;
	kill(-1, SIGKILL);
}

/* Keep the sensor and everything it starts on the CPU it runs on. A ptrace stop hands control
 * between tracee and tracer twice per syscall; on one CPU that is a plain context switch, across
 * CPUs a wake-up of an idle CPU each time, which costs several times more on virtual machines
 * (measured in bench/bench_sensor.py). The target only loses parallelism while observed. */
static void pin_to_current_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) == 0)
		counters[C_CPU_PINNED] = 1;
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "sensor: %s\n%s", msg, usage);
	exit(125);
}

static int signal_number(const char *s)
{
	static const struct { const char *n; int v; } table[] = {
		{"TERM", SIGTERM}, {"INT", SIGINT}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
		{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH}, {"KILL", SIGKILL},
	};
	char *end;
	long v = strtol(s, &end, 10);
	if (*s && !*end)
		return (int)v;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].n, s) == 0)
			return table[i].v;
	return -1;
}

static void parse(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof *o);
	o->user = "";
	o->report = "/.slimmer/report";
	o->grace = 5.0;
	o->drop = 1ull << 21; /* CAP_SYS_ADMIN */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--") == 0) {
			o->argv = argv + i + 1;
			break;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		} else if (strcmp(a, "--image-home") == 0) {
			o->image_home = 1;
		} else if (strcmp(a, "--no-fanotify") == 0) {
			o->no_fanotify = 1;
		} else if (strcmp(a, "--no-ptrace") == 0) {
			o->no_ptrace = 1;
		} else if (strcmp(a, "--all-cpus") == 0) {
			o->all_cpus = 1;
		} else if (strcmp(a, "--allow-hot") == 0) {
			topts.allow_hot = 1;
		} else if (strcmp(a, "--no-syscall-info") == 0) {
			topts.use_sysinfo = 0;
		} else if (!v) {
			die_usage("missing value");
		} else if (strcmp(a, "--user") == 0) {
			o->user = v, i++;
		} else if (strcmp(a, "--unset-env") == 0) {
			unsetenv(v), i++; /* the target's environment is the sensor's */
		} else if (strcmp(a, "--report") == 0) {
			o->report = v, i++;
		} else if (strcmp(a, "--grace") == 0) {
			char *end;
			o->grace = strtod(v, &end), i++;
			if (*end || o->grace < 0)
				die_usage("bad --grace");
		} else if (strcmp(a, "--stop-signal") == 0) {
			o->stop_signal = signal_number(v), i++;
			if (o->stop_signal <= 0)
				die_usage("bad --stop-signal");
		} else if (strcmp(a, "--drop-cap") == 0) {
			int c = cap_number(v);
			i++;
			if (c < 0)
				die_usage("bad --drop-cap");
			o->drop |= 1ull << c;
		} else if (strcmp(a, "--default-seccomp") == 0) {
			i++;
			if (deny_select(v) != 0)
				die_usage("bad --default-seccomp");
		} else if (strcmp(a, "--trace-mode") == 0) {
			i++;
			if (strcmp(v, "seccomp") == 0)
				topts.seccomp = 1;
			else if (strcmp(v, "syscall") == 0)
				topts.seccomp = 0;
			else
				die_usage("bad --trace-mode");
		} else {
			die_usage("unknown option");
		}
	}
	if (!o->argv || !o->argv[0])
		die_usage("no command after --");
}

/* ---- the target child ---- */

/* exec.LookPath as runc does it: names with a slash as given, else the first executable
 * regular file along PATH. */
static int look_path(const char *name, char *out, size_t cap)
{
	if (strchr(name, '/')) {
		snprintf(out, cap, "%s", name);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct stat st;
		snprintf(out, cap, "%.*s/%s", (int)n, n ? p : ".", name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			return 0;
		if (!end)
			break;
		p = end;
	}
	return -1;
}

static void child_fail(int code, const char *what, const char *detail)
{
	fprintf(stderr, "sensor: %s: %s\n", what, detail);
	_exit(code);
}

static void run_target(const struct options *o, const struct user_spec *u, int go_fd)
{
	char mode = 'N', exe[PATH_CAP];
	sigset_t none;
	sigemptyset(&none);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		signal(forwarded[i], SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while (read(go_fd, &mode, 1) < 0 && errno == EINTR)
		;
	close(go_fd);
	if (u->error[0])
		child_fail(127, "cannot run the target", u->error);
	setsid(); /* the engine makes its process a session leader */
	if (isatty(0))
		ioctl(0, TIOCSCTTY, 1);
	if (mode == 'S') {
		int r = trace_install_filter();
		if (r < 0)
			child_fail(125, "seccomp filter", strerror(-r));
	}
	int r = deny_install(o->drop); /* needs SYS_ADMIN (no NO_NEW_PRIVS): before the drop */
	if (r < 0)
		child_fail(125, "default seccomp filter", strerror(-r));
	r = caps_drop(o->drop);
	if (r < 0)
		child_fail(125, "dropping capabilities", strerror(-r));
	if (setgroups((size_t)u->ngroups, u->groups) != 0 || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid))
		child_fail(125, "switching to the image's user", strerror(errno));
	if (user_verify(u) != 0)
		child_fail(125, "switching to the image's user", "the ids are not the user's after it");
	/* the uid change made the child non-dumpable: its memory (the exec path) would be
	 * unreadable to the tracer; exec recomputes dumpability for the target anyway */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (!o->image_home)
		setenv("HOME", u->home, 1);
	if (look_path(o->argv[0], exe, sizeof exe) != 0) {
		fprintf(stderr, "sensor: exec: \"%s\": executable file not found in $PATH\n",
			o->argv[0]);
		_exit(127);
	}
	execve(exe, o->argv, environ);
	int err = errno;
	fprintf(stderr, "sensor: exec %s: %s\n", exe, strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* ---- seccomp availability: a throwaway child tries an allow-all filter (no NO_NEW_PRIVS) --- */

static int seccomp_available(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = {1, &allow};
		_exit(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0 ? 0 : errno);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -EAGAIN;
	return -WEXITSTATUS(st);
}

/* ---- report ---- */

/* Written when the sensor is the container's last process, to a file it creates itself
 * (report_file.c); a report without its "end" line is truncated. */
static int write_report(const struct options *o, const char *fan_mode, const char *ptrace_mode,
			int exit_code)
{
	static struct out out;
	out.fd = report_create(o->report);
	if (out.fd < 0) {
		fprintf(stderr, "sensor: cannot write %s: %s\n", o->report, strerror(-out.fd));
		return -1;
	}
	struct out *w = &out;
	out_str(w, "slimmer-sensor-report ");
	out_u64(w, REPORT_VERSION);
	out_str(w, "\narch ");
	out_str(w, native_arch);
	out_str(w, "\nfanotify ");
	out_esc(w, fan_mode, strlen(fan_mode));
	out_str(w, "\nptrace ");
	out_esc(w, ptrace_mode, strlen(ptrace_mode));
	out_str(w, "\n");
	deny_report(w);
	out_str(w, "target-exit ");
	out_i64(w, exit_code);
	out_str(w, "\n");
	for (int i = 0; i < C_COUNT; i++) {
		out_str(w, "counter ");
		out_str(w, counter_names[i]);
		out_str(w, " ");
		out_u64(w, counters[i]);
		out_str(w, "\n");
	}
	warnings_report(w);
	trace_report(w);
	fan_report(w);
	pid1_report(w);
	out_str(w, "end\n");
	out_flush(w);
	if (w->failed || fsync(w->fd) != 0) {
		close(w->fd);
		fprintf(stderr, "sensor: writing %s failed\n", o->report);
		return -1;
	}
	close(w->fd);
	return 0;
}

/* The engine reads /etc/passwd and /etc/group to apply USER: the image needs them. */
static char *read_user_file(const char *path)
{
	int err = 0;
	char *text = read_small_file(path, &err);
	record_path(path, OP_OPEN_READ, err, 1);
	return text;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct options o;
	char fan_mode[128] = "off: disabled (--no-fanotify)", ptrace_mode[128];
	uint64_t started = now_ms();
	if (argc > 1 && strcmp(argv[1], "--serve") == 0)
		return serve_main(argc, argv);
	parse(argc, argv, &o);
	stop_signal_opt = o.stop_signal;
	grace_timer.it_value.tv_sec = (time_t)o.grace;
	grace_timer.it_value.tv_usec = (suseconds_t)((o.grace - (double)(time_t)o.grace) * 1e6);
	if (!grace_timer.it_value.tv_sec && !grace_timer.it_value.tv_usec)
		grace_timer.it_value.tv_usec = 1;
	trace_init();
	if (!o.all_cpus)
		pin_to_current_cpu();

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaction(forwarded[i], &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	char skip[PATH_CAP];
	snprintf(skip, sizeof skip, "%s", o.report);
	char *slash = strrchr(skip, '/');
	if (slash && slash != skip)
		*slash = 0;
	if (!o.no_fanotify && fan_start(skip, fan_mode, sizeof fan_mode) != 0)
		fprintf(stderr, "sensor: fanotify %s; going on with ptrace alone\n", fan_mode);

	struct user_spec user;
	char *passwd = read_user_file("/etc/passwd"), *group = read_user_file("/etc/group");
	user_resolve(o.user, passwd, group, &user);
	free(passwd);
	free(group);
	if (user.error[0])
		warn_add("%s", user.error);

	char go = 'N';
	int seccomp = seccomp_available();
	deny_prepare(-seccomp);
	if (o.no_ptrace) {
		snprintf(ptrace_mode, sizeof ptrace_mode, "off: disabled (--no-ptrace)");
	} else if (topts.seccomp && seccomp < 0) {
		topts.seccomp = 0;
		warn_add("seccomp filter unavailable (%s): PTRACE_SYSCALL mode", strerror(-seccomp));
	}

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		perror("sensor: pipe");
		return 125;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("sensor: fork");
		return 125;
	}
	if (child == 0) {
		close(pipefd[1]);
		run_target(&o, &user, pipefd[0]);
	}
	close(pipefd[0]);
	target_pid = child;
	if (!o.no_ptrace) {
		int r = trace_seize(child);
		if (r < 0) {
			snprintf(ptrace_mode, sizeof ptrace_mode, "off: ptrace: %s", strerror(-r));
			fprintf(stderr, "sensor: %s; going on with fanotify alone\n", ptrace_mode);
		} else {
			go = topts.seccomp ? 'S' : 'P';
			snprintf(ptrace_mode, sizeof ptrace_mode, "%s",
				 topts.seccomp ? "seccomp" : "syscall");
		}
	}
	pid1_start(child);
	(void)!write(pipefd[1], &go, 1);
	close(pipefd[1]);
	if (pending_sig)
		kill(child, pending_sig);

	int exit_code = -1, traced = go != 'N';
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: everything is reaped */
		}
		if (traced)
			trace_event(pid, status);
		if (pid == child && (WIFEXITED(status) || WIFSIGNALED(status))) {
			exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			target_pid = 0;
			kill(-1, SIGKILL); /* the engine ends the container with its PID 1 */
		}
	}
	pid1_stop();
	fan_stop();
	if (wait_alone(ALONE_TIMEOUT_MS) != 0) {
		fprintf(stderr, "sensor: processes of the container outlived SIGKILL for %d ms: "
			"no report\n", ALONE_TIMEOUT_MS);
		return 125;
	}
	counters[C_RUNTIME_MS] = now_ms() - started;
	if (counters[C_PATH_READ_FAILED] || counters[C_UNRESOLVED])
		warn_add("%llu path arguments could not be read or resolved: processes that change "
			 "their uid at run time are unreadable without CAP_SYS_PTRACE (run the "
			 "container with --cap-add SYS_PTRACE and the sensor with --drop-cap "
			 "SYS_PTRACE)",
			 (unsigned long long)(counters[C_PATH_READ_FAILED] + counters[C_UNRESOLVED]));
	write_report(&o, fan_mode, ptrace_mode, exit_code);
	return exit_code >= 0 ? exit_code : 125;
}
