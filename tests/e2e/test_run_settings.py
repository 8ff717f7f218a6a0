"""Run settings with the docker CLI's names: the same for the observed run and the verified runs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.escaping import printable
from tests.e2e.helpers import leftovers, sessions_in, slimmer, summary

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def build(ref: str, tmp_path: Path, *args: str, name: str = "out"):
    tag = f"slimmer-e2e/run-settings.slim:{tmp_path.name[-12:].lower()}-{name}"
    out = tmp_path / name
    done = slimmer("build", ref, "--tag", tag, "--output-dir", str(out), "--json", *args,
                   tmpdir=tmp_path / "tmp")
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return done, report, tag


def kept(report: dict) -> dict[str, str]:
    return {entry["path"]: entry["reason"] for entry in report["kept"]["paths"]}


def test_env_values_never_reach_outputs_nor_the_image(
    engine: Engine, fixture_image, tmp_path
) -> None:
    secret, file_secret = f"s3cret-{uuid.uuid4().hex}", f"f1le-{uuid.uuid4().hex}"
    env_file = tmp_path / "app.env"
    env_file.write_text(f"# comment\nFILE_TOKEN={file_secret}\nFROM_SHELL\n")
    done, report, tag = build(
        fixture_image("python-app"), tmp_path,
        "--env", f"API_TOKEN={secret}", "--env-file", str(env_file), "--include-shell",
        # the target prints the values: they must come out redacted
        "--exec", 'sh -c "echo token=$API_TOKEN file=$FILE_TOKEN shell=$FROM_SHELL"',
    )
    try:
        assert done.returncode == 0, done.stderr
        assert report["run_settings"]["env_names"] == ["FILE_TOKEN", "FROM_SHELL", "API_TOKEN"]
        assert report["probes"]["commands"][0]["output_tail"] == (
            "token=<redacted> file=<redacted> shell=<redacted>"  # all three are secrets
        )
        config = engine.api.inspect_image(tag)["Config"]
        assert config["Env"] == ["PYTHONUNBUFFERED=1"]  # the original's, no run-time variables
        texts = [done.stdout, done.stderr, json.dumps(config)]
        texts += [p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*")
                  if p.is_file()]
        for value in (secret, file_secret):
            assert not any(value in text for text in texts)
    finally:
        engine.remove_image(tag)


@pytest.fixture(autouse=True)
def _shell_variable(monkeypatch) -> None:
    monkeypatch.setenv("FROM_SHELL", "from-the-shell")  # --env-file's KEY-only line


def test_mounts_are_used_and_never_kept_nor_removed(
    engine: Engine, fixture_image, tmp_path
) -> None:
    host_dir = tmp_path / "input"
    host_dir.mkdir()
    (host_dir / "greeting.txt").write_text("hello from the host\n")
    volume = f"slimmer-e2e-{uuid.uuid4().hex[:12]}"
    script = ("cat /input/greeting.txt; echo written > /var/cache/debconf/slimmer.txt; "
              "cat /var/cache/debconf/slimmer.txt; echo scratch > /scratch/x; cat /scratch/x")
    try:
        done, report, tag = build(
            fixture_image("batch"), tmp_path,
            "--mount", f"type=bind,source={host_dir},target=/input,readonly",
            "-v", f"{volume}:/var/cache/debconf", "--tmpfs", "/scratch",
            "--cmd", json.dumps(["sh", "-c", script]),
        )
        engine.remove_image(tag)
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed"
        # the run wrote into the volume: without the mount, the image's own files of that
        # directory would be kept as state; a volume's contents are the user's
        assert not [p for p in kept(report) if p.startswith("/var/cache/debconf/")]
        assert any("mount points" in w for w in report["warnings"])
        assert report["run_settings"]["mounts"] == [
            f"bind:{host_dir}:/input,ro", f"volume:{volume}:/var/cache/debconf",
            "tmpfs:/scratch",
        ]
        assert volume in {v["Name"] for v in engine.api.volumes()["Volumes"]}  # still there
        assert (host_dir / "greeting.txt").read_text() == "hello from the host\n"
        assert all(leftovers(engine, s) == [] for s in sessions_in(tmp_path / "tmp"))
    finally:
        engine.remove_volume(volume)


def test_network_alias_add_host_entrypoint_and_cmd(
    engine: Engine, fixture_image, tmp_path
) -> None:
    """The target talks to a redis server by its name on the user's network, resolves its own
    alias and an --add-host name; the slim image does the same in the same place."""
    network = f"slimmer-e2e-{uuid.uuid4().hex[:12]}"
    engine.api.create_network(network)
    server_session = f"slimmer-e2e-{uuid.uuid4().hex[:12]}"
    program = (
        "import socket\n"
        "s = socket.create_connection(('cache', 6379), timeout=10)\n"
        "s.sendall(b'PING\\r\\n'); print(s.recv(64).decode().strip())\n"
        "print(socket.gethostbyname('extra.example'))\n"
        "print(socket.gethostbyname('me-on-the-net') == "
        "socket.gethostbyname(socket.gethostname()))\n"
    )
    try:
        server = engine.create_container(fixture_image("redis"), session=server_session)
        engine.api.connect_container_to_network(server, network, aliases=["cache"])
        engine.start(server)
        done, report, tag = build(
            fixture_image("python-app"), tmp_path, "--network", network,
            "--network-alias", "me-on-the-net", "--add-host", "extra.example:10.1.2.3",
            "--entrypoint", "python3", "--cmd", json.dumps(["-c", program]),
            "--continue-after", "exit",
        )
        engine.remove_image(tag)
        assert done.returncode == 0, done.stderr
        assert summary(done)["verdict"] == "passed", report["verification"]
        execs = report["observation"]["execs"]
        assert execs[0]["argv"] == ["python3", "-c", printable(program)]  # one line in JSON
        assert report["run_settings"]["network"] == network
    finally:
        engine.remove_session(server_session)
        engine.remove_network(network)


def test_missing_network_is_a_usage_error(fixture_image, tmp_path) -> None:
    done, _, _ = build(fixture_image("batch"), tmp_path, "--network", "slimmer-no-such-net")
    assert done.returncode == 2
    assert "network 'slimmer-no-such-net' does not exist" in done.stderr
    assert not list((tmp_path / "tmp").iterdir())


def test_user_and_workdir_apply_to_observation_and_verification(
    engine: Engine, fixture_image, tmp_path
) -> None:
    # the output differs by user and directory: verification passes only when the slim image
    # ran as the observed target did
    done, report, tag = build(
        fixture_image("batch"), tmp_path, "--user", "nobody", "--workdir", "/tmp",
        "--cmd", "sh -c 'id -u; id -g; pwd; echo $HOME'",
    )
    engine.remove_image(tag)
    assert done.returncode == 0, done.stderr
    assert summary(done)["verdict"] == "passed", report["verification"]
    assert report["run_settings"]["user"] == "nobody"
    assert "/etc/passwd" in kept(report)


def test_cap_add_gives_the_target_what_docker_run_gives(
    engine: Engine, fixture_image, tmp_path
) -> None:
    """The observed target (under the sensor) prints its capability sets; verification runs the
    slim image with a plain --cap-add and compares the output line by line."""
    ref = fixture_image("batch")
    command = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status"
    done, report, tag = build(
        ref, tmp_path, "--cap-add", "NET_ADMIN", "--cap-add", "CAP_SYS_PTRACE",
        "--cmd", command,
    )
    engine.remove_image(tag)
    assert done.returncode == 0, done.stderr
    assert summary(done)["verdict"] == "passed", report["verification"]
    assert report["run_settings"]["cap_add"] == ["NET_ADMIN", "SYS_PTRACE"]
    refused = slimmer("build", ref, "--cap-add", "SYS_ADMIN", tmpdir=tmp_path / "tmp2")
    assert refused.returncode == 2 and "SYS_ADMIN" in refused.stderr


def test_expose_and_probe_port(engine: Engine, fixture_image, tmp_path) -> None:
    ref = fixture_image("python-app")
    both = "sh -c 'python3 /app/app.py & exec python3 -m http.server 9000 --directory /app/data'"
    done, report, tag = build(ref, tmp_path, "--cmd", both, "--expose", "9000",
                              "--include-shell", name="expose")
    engine.remove_image(tag)
    assert done.returncode == 0, done.stderr
    described = [p["description"] for p in report["probes"]["probes"]]
    assert any(d.startswith("GET http://:9000/people.csv -> 200") for d in described), described
    assert any(d.startswith("GET http://:8000/hash -> 200") for d in described), described
    done, report, tag = build(ref, tmp_path, "--cmd", both, "--expose", "9000",
                              "--probe-port", "9000", "--include-shell", name="only")
    engine.remove_image(tag)
    assert done.returncode == 0, done.stderr
    described = [p["description"] for p in report["probes"]["probes"]]
    assert described and all(":9000/" in d for d in described), described


def test_target_exiting_while_probed_is_reported_at_once(fixture_image, tmp_path) -> None:
    """pg-app exits at once without its database: the error names the exit and its log line
    (the time it takes is measured in bench/bench_build.py, not here)."""
    secret = f"pw-{uuid.uuid4().hex}"
    done, _, _ = build(
        fixture_image("pg-app"), tmp_path, "--env",
        f"DATABASE_URL=postgresql://inventory:{secret}@db.invalid:5432/inventory",
    )
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    assert "the target exited with status 1 while it was probed" in error, error
    assert "cannot connect to the database" in error, error
    assert secret not in done.stderr
    assert not list((tmp_path / "tmp").iterdir())
