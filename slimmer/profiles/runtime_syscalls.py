"""The syscalls a container runtime makes after installing the seccomp filter, before exec.

runc and crun install the container's seccomp filter and then still run code of their own before
exec'ing the entrypoint (runc: Go code that switches user, drops capabilities and waits on the
exec fifo; crun: C code). A profile without these calls does not even let the container start.

How the sets were found (method and figures in docs/profiles.md; the experiment is
tests/profiles/find_runtime_set.py): a container whose entrypoint is a static binary that only
calls exit_group(0) is started under candidate allow lists, shrinking Docker's default list by
adaptive group testing until no single name can be removed; each result was confirmed by repeated
runs, and the calls made but not needed (seen with SCMP_ACT_LOG in the kernel log) were added so
that a timing-dependent path cannot break a start. Variants: root and USER 1000:1000, with and
without no-new-privileges (with it, both runtimes install the filter last and need far less).
Measured on x86_64 with Docker 20.10.24, runc 1.1.5 and crun 1.8.1 (Debian 12). aarch64 was not
measured (no aarch64 machine here): the same code paths call the same syscalls, all of which exist
under the same names in the aarch64 table, so the x86_64 sets are used.
"""

from __future__ import annotations

# runc, filter installed before the user switch (the default, without no-new-privileges):
# needed for root and for a non-root USER alike (runc calls setgroups/setgid/setuid either way).
# With no-new-privileges runc installs the filter last and needs a subset of these.
_RUNC = frozenset({
    "capget", "capset", "chdir", "close", "execve", "exit", "exit_group", "faccessat2", "fstat",
    "fstatfs", "futex", "getcwd", "getdents64", "getppid", "newfstatat", "openat", "prctl",
    "read", "setgid", "setgroups", "setuid", "write",
    # runc's Go runtime returns from its preemption signal handler (SIGURG) through
    # rt_sigreturn at random moments: without it about one start in seven dies of SIGSEGV
    "rt_sigreturn",
    # made but not needed (seen with SCMP_ACT_LOG): fchown fixes the stdio owner for a
    # non-root USER
    "epoll_ctl", "fchown", "fcntl", "getpid",
})

# crun: the user switch (setresgid/setresuid) and capability drop happen after the filter.
_CRUN = frozenset({
    "capset", "execve", "exit", "exit_group", "prctl", "pselect6", "read", "rt_sigaction",
    "rt_sigprocmask", "setresgid", "setresuid", "write",
    # made but not needed
    "close",
})

RUNTIME_SYSCALLS: dict[str, dict[str, frozenset[str]]] = {
    "runc": {"x86_64": _RUNC, "aarch64": _RUNC},
    "crun": {"x86_64": _CRUN, "aarch64": _CRUN},
}


def runtime_syscalls(arch: str) -> frozenset[str]:
    """What any supported runtime needs on ``arch`` (the union over runc and crun)."""
    sets = [per_arch[arch] for per_arch in RUNTIME_SYSCALLS.values() if arch in per_arch]
    return frozenset().union(*sets)
