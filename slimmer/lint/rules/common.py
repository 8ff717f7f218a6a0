"""Helpers the rules share: package-manager command shapes and short name lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from slimmer.lint.dockerfile import Instruction
from slimmer.lint.shell import Command

APT_VALUED = frozenset({"-o", "--option", "-t", "--target-release", "-c", "--config-file"})
APK_VALUED = frozenset(
    {"-t", "--virtual", "--repository", "-X", "--root", "-p", "--arch", "--cache-dir"}
)
PIP_VALUED = frozenset(
    {
        "--abi", "-b", "--build", "-e", "--editable", "--extra-index-url", "-f",
        "--find-links", "-i", "--index-url", "--implementation", "--no-binary",
        "--only-binary", "--platform", "--prefix", "--progress-bar", "--proxy",
        "--python-version", "--root", "--src", "-t", "--target", "--trusted-host",
        "--upgrade-strategy", "-c", "--constraint", "-r", "--requirement", "--cache-dir",
        "--log", "--timeout", "--retries", "--python",
    }
)  # fmt: skip
NPM_VALUED = frozenset({"--prefix", "--registry", "--cache", "--loglevel", "-w", "--workspace"})
GEM_VALUED = frozenset({"-i", "--install-dir", "-n", "--bindir", "-s", "--source", "--platform"})


def operands(command: Command, valued: frozenset[str] = frozenset()) -> list[str]:
    """The arguments that are neither options nor values of options in ``valued``."""
    found: list[str] = []
    args = list(command.args)
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            found.extend(args[index + 1 :])
            break
        if arg.startswith("-") and len(arg) > 1:
            index += 2 if arg in valued else 1
            continue
        found.append(arg)
        index += 1
    return found


def after_subcommand(words: list[str], *subcommands: str) -> list[str]:
    """The words after the first subcommand (`install` of `apt-get -y install a b`)."""
    for index, word in enumerate(words):
        if word in subcommands:
            return [w for w in words[index + 1 :] if w not in subcommands]
    return []


def is_apt_install(command: Command) -> bool:
    return command.is_("apt-get", "apt") and "install" in command.args


def apt_packages(command: Command) -> list[str]:
    return after_subcommand(operands(command, APT_VALUED), "install")


def is_apk_add(command: Command) -> bool:
    return command.is_("apk") and "add" in command.args


def apk_packages(command: Command) -> list[str]:
    return after_subcommand(operands(command, APK_VALUED), "add")


def is_pip_install(command: Command) -> bool:
    """`pip install`, `pip3.12 install`, `python3 -m pip install` (pipx and pipenv too)."""
    if command.basename.startswith("pip") and "install" in command.args:
        return True
    return command.basename.startswith("python") and _has_run(command.args, ["-m", "pip"])


def pip_wrapper(command: Command) -> bool:
    """pipx and pipenv manage their own caches and environments."""
    return "pipx" in command.basename or "pipenv" in command.basename


def pip_packages(command: Command) -> list[str]:
    return after_subcommand(operands(command, PIP_VALUED), "install")


def _has_run(args: tuple[str, ...], run: list[str]) -> bool:
    return any(list(args[i : i + len(run) + 1]) == [*run, "install"] for i in range(len(args)))


def short_list(names: Iterable[str], limit: int = 3) -> str:
    names = list(dict.fromkeys(names))
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def run_commands(instruction: Instruction) -> Iterator[Command]:
    yield from instruction.script.commands


def cache_mount_targets(instruction: Instruction) -> list[str]:
    """Targets of `RUN --mount=type=cache,target=...` (their content is not in the layer)."""
    targets = []
    for name, value in instruction.flag_list:
        if name != "mount":
            continue
        options = dict(part.partition("=")[::2] for part in value.split(","))
        if options.get("type") == "cache":
            target = options.get("target") or options.get("dst") or options.get("destination")
            if target:
                targets.append(target)
    return targets
