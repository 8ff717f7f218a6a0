"""Re-derive the runtime syscall set by experiment (see docs/profiles.md, "The runtime set").

The container's entrypoint is a static binary that only calls exit_group(0). Starting from Docker's
default allow list (under which the container starts), shrink the list by adaptive group testing
(delta debugging): drop a chunk of names, keep the drop when the container still starts and exits
0, split the chunk when it does not. What is left is a set under which the runtime gets from
installing the filter to exec'ing the entrypoint; it is then confirmed by repeated runs.

    python -m tests.profiles.find_runtime_set [--private-runtime crun] [--log-check]
        [--user 1000:1000] [--no-new-privileges] [--repeat 20] [--docker-host URL]

It prints the minimal set as JSON. Each variant takes a few minutes (one container per test).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable

import docker

from slimmer.engine import Engine
from slimmer.profiles.docker_default import docker_default_names
from slimmer.profiles.missing import shrink
from tests.profiles.private_engine import private_dockerd
from tests.profiles.runtime_probe import allow_profile, exit0_image, starts_under

# Never dropped while shrinking: the entrypoint needs them (execve, exit_group); a runtime that
# cannot exit after an error hangs instead of failing (exit); and runc's Go runtime returns from
# its preemption signal handler (SIGURG) through rt_sigreturn at random moments: without it runc
# init dies of SIGSEGV in about one start in seven, which would make the shrinking blame
# innocent names.
ALWAYS = frozenset({"execve", "exit_group", "exit", "rt_sigreturn"})


def logged_calls(run: Callable[[], object], comm: str) -> set[str]:
    """Syscall names the kernel logged (SCMP_ACT_LOG, audit type 1326) for ``comm`` during ``run``.

    Reads the kernel log with dmesg, so it needs the engine on this machine and root. The kernel
    rate-limits these messages (10 per 5 s): allow what is already known so that only the rest
    is logged, and space the runs out.
    """
    since = _kernel_time(subprocess.run(["dmesg"], capture_output=True, text=True).stdout)
    run()
    lines = [line for line in subprocess.run(["dmesg"], capture_output=True, text=True)
             .stdout.splitlines() if _kernel_time(line) > since]
    libseccomp = ctypes.CDLL("libseccomp.so.2")
    resolve = libseccomp.seccomp_syscall_resolve_num_arch
    resolve.argtypes, resolve.restype = [ctypes.c_uint32, ctypes.c_int], ctypes.c_char_p
    names = set()
    for line in lines:
        found = re.search(r'type=1326 .*comm="([^"]*)".* arch=([0-9a-f]+) syscall=(\d+)', line)
        if found and found.group(1) == comm:
            name = resolve(int(found.group(2), 16), int(found.group(3)))
            names.add(name.decode() if name else f"#{found.group(3)}")
    return names


def _kernel_time(text: str) -> float:
    """The timestamp of the last kernel log line in ``text`` (0 when none)."""
    stamps = re.findall(r"^\[\s*(\d+\.\d+)\]", text, re.MULTILINE)
    return float(stamps[-1]) if stamps else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker-host", default="", help="engine address (default: DOCKER_HOST)")
    parser.add_argument("--private-runtime", default="",
                        help="start a private dockerd with this runtime (crun) as its default")
    parser.add_argument("--user", default="", help="run the entrypoint as this USER (uid:gid)")
    parser.add_argument("--no-new-privileges", action="store_true")
    parser.add_argument("--repeat", type=int, default=20, help="confirmation runs of the result")
    parser.add_argument("--log-check", action="store_true",
                        help="also list the calls made but not needed (SCMP_ACT_LOG, dmesg)")
    args = parser.parse_args(argv)

    if args.private_runtime:
        with private_dockerd(args.private_runtime) as engine:
            return experiment(engine, args)
    if args.docker_host:
        return experiment(Engine(docker.DockerClient(base_url=args.docker_host, version="auto")),
                          args)
    return experiment(Engine.connect(), args)


def experiment(engine: Engine, args: argparse.Namespace) -> int:
    """Shrink, confirm and optionally log-check one variant; prints the result as JSON."""
    image = exit0_image(engine, user=args.user)
    extra = ["no-new-privileges"] if args.no_new_privileges else []
    runs = 0

    def works(names: set[str]) -> bool:
        nonlocal runs
        runs += 1
        return starts_under(engine, image, allow_profile(names | ALWAYS), extra)

    start = sorted(docker_default_names("x86_64") - ALWAYS)
    if not works(set(start) | ALWAYS):
        print("the container does not start under Docker's default allow list", file=sys.stderr)
        return 1
    found = sorted(set(shrink(start, works)) | ALWAYS)
    failures = sum(not works(set(found)) for _ in range(args.repeat))
    result = {"runtime": engine.info().get("DefaultRuntime"), "user": args.user or "0:0",
              "no_new_privileges": args.no_new_privileges, "runs": runs,
              "confirm_failures": failures, "names": found}
    if args.log_check:
        log_profile = allow_profile(set(found), default_action="SCMP_ACT_LOG")
        comm = "runc:[2:INIT]" if result["runtime"] == "runc" else result["runtime"]
        result["made_not_needed"] = sorted(logged_calls(
            lambda: [starts_under(engine, image, log_profile, extra) and time.sleep(6)
                     for _ in range(args.repeat)],
            comm,
        ))
    print(json.dumps(result))
    return 0 if failures == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
