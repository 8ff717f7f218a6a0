"""AppArmor profile generation from crafted observations; every profile must compile."""

from __future__ import annotations

import subprocess
from pathlib import Path

from slimmer.observation import (
    FileEvent,
    FileEventKind,
    Observation,
    Op,
    PathAccess,
    SocketUse,
)
from slimmer.profiles.apparmor import (
    GLOB_MIN_FILES,
    apparmor_profile,
    escape_path,
    file_rules,
    infer_capabilities,
    network_rules,
)

OPEN = frozenset({FileEventKind.OPEN})
EXEC = frozenset({FileEventKind.EXEC, FileEventKind.OPEN})


def _web_server() -> Observation:
    """Roughly what nginx does: master as root, workers as www-data, port 80."""
    files = [
        FileEvent("/usr/sbin/nginx", EXEC),
        FileEvent("/usr/lib/x86_64-linux-gnu/libc.so.6", OPEN),
        FileEvent("/etc/nginx/nginx.conf", OPEN),
        FileEvent("/etc/nginx/conf.d", OPEN, is_dir=True),
        FileEvent("/var/www/my site/index [1].html", OPEN),
        *(FileEvent(f"/usr/lib/python3.11/mod{i}.py", OPEN) for i in range(GLOB_MIN_FILES)),
        FileEvent("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", OPEN),
        FileEvent("/.slimmer/sensor", EXEC),
        FileEvent("/.slimmer-0123456789abcdef0123456789abcdef/sensor", EXEC),
    ]
    paths = [
        PathAccess("/run/nginx.pid", Op.OPEN_CREATE),
        PathAccess("/var/log/nginx/error.log", Op.OPEN_WRITE),
        PathAccess("/var/lib/nginx/body", Op.CHOWN),
        PathAccess("/etc/missing.conf", Op.OPEN_READ, errno=2),
        PathAccess("/etc/nginx/conf.d", Op.OPEN_READ),
        PathAccess("/proc/self/status", Op.OPEN_READ),
        PathAccess("/proc/12/task/13/comm", Op.OPEN_WRITE),
        PathAccess("/etc/passwd", Op.STAT),
        PathAccess("/run/app.sock", Op.CONNECT),
        PathAccess("/tmp/a", Op.LINK_TO),
    ]
    return Observation(
        arch="x86_64",
        syscalls={"x86_64": {"setuid": 1, "setgroups": 1, "chown": 2, "kill": 1, "read": 9}},
        paths=paths,
        files=files,
        sockets=[SocketUse("inet", "stream"), SocketUse("inet6", "stream"),
                 SocketUse("unix", "dgram"), SocketUse("inet", "dccp"),
                 SocketUse("af_99", "stream")],
        bind_ports=[80, 8080],
    )


def test_file_rules() -> None:
    rules = dict(file_rules(_web_server()))
    assert rules["/usr/sbin/nginx"] == "mrix"
    assert rules["/usr/lib/x86_64-linux-gnu/libc.so.6"] == "mr"
    assert rules["/etc/nginx/nginx.conf"] == "r"
    assert rules["/etc/nginx/conf.d/"] == "r"
    assert "/etc/nginx/conf.d" not in rules  # the directory rule has it
    assert rules["/run/**"] == "rw"  # created: any name in the directory
    assert rules["/var/log/nginx/error.log"] == "w"
    assert rules["/var/lib/nginx/body{,/}"] == "w"
    assert rules["/run/app.sock"] == "rw"
    assert rules["/tmp/**"] == "rw" and rules["/tmp/a"] == "l"
    assert rules["@{PROC}/@{pid}/status"] == "r"
    assert rules["@{PROC}/@{pid}/task/@{tid}/comm"] == "w"
    # a directory used wholesale becomes one glob, libraries below it keep mmap
    assert rules["/usr/lib/python3.11/**"] == "mr"
    assert not [p for p in rules if p.startswith("/usr/lib/python3.11/mod")]
    # no rules for failed accesses, stat calls, or the sensor itself
    assert "/etc/missing.conf" not in rules
    assert "/etc/passwd" not in rules
    assert not [p for p in rules if p.startswith("/.slimmer")]


def test_below_the_threshold_files_stay_single() -> None:
    files = [FileEvent(f"/app/m{i}.py", OPEN) for i in range(GLOB_MIN_FILES - 1)]
    rules = dict(file_rules(Observation(arch="x86_64", files=files)))
    assert "/app/**" not in rules and len(rules) == GLOB_MIN_FILES - 1


def test_capability_inference() -> None:
    assert infer_capabilities(_web_server()) == [
        "chown", "dac_override", "dac_read_search", "fowner", "kill", "net_bind_service",
        "setgid", "setuid",
    ]
    assert infer_capabilities(Observation(arch="x86_64", syscalls={"x86_64": {"read": 1}})) == []
    raw = Observation(arch="x86_64", sockets=[SocketUse("inet", "raw")])
    assert infer_capabilities(raw) == ["net_raw"]


def test_network_rules() -> None:
    assert network_rules(_web_server()) == [
        "  network inet stream,", "  network inet,", "  network inet6 stream,",
        "  network unix dgram,",
    ]


def test_profile_text(tmp_path: Path, apparmor_parser: str) -> None:
    text = apparmor_profile(_web_server(), "My App")
    assert "profile slimmer-my-app flags=(attach_disconnected,mediate_deleted) {" in text
    assert "  #include <abstractions/base>" in text
    assert '  "/var/www/my site/index \\[1\\].html" r,' in text
    assert "  capability net_bind_service," in text
    assert "  deny @{PROC}/sysrq-trigger rwklx," in text
    assert "  deny /sys/firmware/** rwklx," in text
    assert "  signal (send,receive) peer=slimmer-my-app," in text
    _compile(tmp_path, text, apparmor_parser)


def test_empty_observation_compiles(tmp_path: Path, apparmor_parser: str) -> None:
    _compile(tmp_path, apparmor_profile(Observation(arch="aarch64"), "empty"), apparmor_parser)


def test_the_parser_rejects_a_broken_profile(tmp_path: Path, apparmor_parser: str) -> None:
    """The compile check can fail: a profile with a bad rule does not pass it."""
    broken = apparmor_profile(Observation(arch="x86_64"), "broken").replace(
        "  #include <abstractions/base>", "  /etc/passwd rq,"
    )
    result = _run_parser(tmp_path, broken, apparmor_parser)
    assert result.returncode != 0


def _run_parser(tmp_path: Path, text: str, parser: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "profile"
    path.write_text(text)
    return subprocess.run([parser, "-Q", "-K", str(path)], capture_output=True, text=True,
                          check=False)


def _compile(tmp_path: Path, text: str, parser: str) -> None:
    result = _run_parser(tmp_path, text, parser)
    assert result.returncode == 0, f"{result.stderr}\n{text}"


def test_never_globs_the_root_or_proc() -> None:
    files = [FileEvent(f"/f{i}", OPEN) for i in range(GLOB_MIN_FILES)]
    paths = [PathAccess(f"/proc/self/p{i}", Op.OPEN_READ) for i in range(GLOB_MIN_FILES)]
    rules = dict(file_rules(Observation(arch="x86_64", files=files, paths=paths)))
    assert "/**" not in rules and "@{PROC}/@{pid}/**" not in rules
    assert len(rules) == 2 * GLOB_MIN_FILES


# names a hostile image or target can give its files: each must stay one rule for that path
ODD_NAMES = [
    "a\nb r,\n  /etc/shadow rw",  # a newline that would start a rule of its own
    'q"uote /etc/shadow',
    "x, /etc/shadow rw",
    "#not-a-comment",
    "@{HOME}",
    "**",
    "[0-9]*",
    "{,/}",
    "non-utf8-\udcff\udcfe",
    "sp ace\ttab",
    "back\\slash^caret}",
    "é",
]


def test_odd_names_cannot_start_or_widen_a_rule(tmp_path: Path, apparmor_parser: str) -> None:
    files = [FileEvent(f"/srv/{i}/{name}", OPEN) for i, name in enumerate(ODD_NAMES)]
    paths = [PathAccess(f"/srv/w{i}/{name}", Op.OPEN_WRITE) for i, name in enumerate(ODD_NAMES)]
    text = apparmor_profile(Observation(arch="x86_64", files=files, paths=paths), "odd")
    assert "/etc/shadow" not in [line.split()[0] for line in text.splitlines() if line.strip()]
    result = subprocess.run([apparmor_parser, "-Q", "-K", "--dump=rule-exprs", "/dev/stdin"],
                            input=text.encode(), capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    dump = (result.stdout + result.stderr).decode(errors="replace")
    rules = [line for line in dump.splitlines() if line.startswith("rule: ")]
    for i in range(len(ODD_NAMES)):
        for directory in (f"/srv/{i}/", f"/srv/w{i}/"):
            mine = [rule for rule in rules if rule.startswith(f"rule: {directory}")]
            assert len(mine) == 1, (directory, mine)
            assert "**" not in mine[0].replace("\\*\\*", "") and "[0-9]" not in mine[0]
    assert not [rule for rule in rules if rule.startswith("rule: /etc/shadow")]
    assert not [rule for rule in rules if rule.startswith("rule: /srv/{")]


def test_escape_path() -> None:
    assert escape_path("/usr/lib/libc.so.6") == "/usr/lib/libc.so.6"
    assert escape_path("/a b/c\n\"d\"/@{HOME}/**") == '/a b/c\\012\\"d\\"/\\@\\{HOME\\}/\\*\\*'
    assert escape_path("/x,y#z[1]?^") == "/x\\,y\\#z\\[1\\]\\?\\^"
    assert escape_path("/\udcff\u00e9\x7f") == "/\\377\\303\\251\\177"
