"""End to end on the real engine: a published port is accepted by docker-proxy before the
target listens; the default plan must wait for the target, not for the proxy."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from slimmer.engine import Engine
from slimmer.probes import plan
from slimmer.probes.compare import compare
from slimmer.probes.wait import knock

from .servers import need

pytestmark = pytest.mark.docker

LATE_HTTP_SERVER = r"""
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Listens on 8080 only after 2 seconds, then answers "/" (HTML linking /b) and "/b". */
int main(void) {
    sleep(2);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) return 1;
    for (;;) {
        int c = accept(s, 0, 0);
        char in[2048], out[512];
        ssize_t n = c < 0 ? -1 : read(c, in, sizeof in - 1);
        if (n > 0) {
            in[n] = 0;
            const char *body = !strncmp(in, "GET / ", 6) ? "<a href=\"/b\">b</a>"
                             : !strncmp(in, "GET /b ", 7) ? "page b" : 0;
            int len = body ? snprintf(out, sizeof out, "HTTP/1.0 200 OK\r\nContent-Type: "
                                      "text/html\r\nContent-Length: %zu\r\n\r\n%s",
                                      strlen(body), body)
                           : snprintf(out, sizeof out, "HTTP/1.0 404 Not Found\r\n\r\n");
            if (write(c, out, len) < 0) perror("write");
        }
        if (c >= 0) close(c);
    }
}
"""


@pytest.fixture
def late_http_image(engine: Engine, tmp_path: Path) -> Iterator[str]:
    compiler = need("musl-gcc", "gcc")
    (tmp_path / "server.c").write_text(LATE_HTTP_SERVER)
    subprocess.run([compiler, "-static", "-Os", "-o", str(tmp_path / "server"),
                    str(tmp_path / "server.c")], check=True, capture_output=True)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        tar.add(tmp_path / "server", arcname="server")
    repository, tag = "slimmer-test-probes/late-http", uuid.uuid4().hex[:12]
    engine.api.import_image_from_data(layer.getvalue(), repository=repository, tag=tag,
                                      changes=['CMD ["/server"]', "EXPOSE 8080/tcp"])
    yield f"{repository}:{tag}"
    engine.remove_image(f"{repository}:{tag}")


def test_default_plan_waits_for_the_target_behind_docker_proxy(engine: Engine,
                                                               late_http_image: str) -> None:
    session = f"test-probes-{uuid.uuid4().hex[:12]}"
    try:
        container = engine.create_container(late_http_image, session=session,
                                            ports=["8080/tcp"])
        engine.start(container)
        host = engine.published_host()
        port_map = engine.published_ports(container)
        early = knock(host, port_map["8080/tcp"])
        assert not early.ready, early  # the target sleeps: docker-proxy closes (or refuses)
        specs, results = plan.default_plan(host, port_map["8080/tcp"], "8080/tcp", timeout=30)
        assert [r.description for r in results] == [
            "GET http://:8080/ -> 200 text/html 18 B", "GET http://:8080/b -> 200 text/html 6 B",
            "GET http://:8080/slimmer-probe/missing-page -> 404 - 0 B"]
        assert all(r.stable for r in results)
        replay = plan.run_specs(host, port_map, specs)
        assert compare(results, replay) == []
    finally:
        engine.remove_session(session)
    assert engine.containers_of(session) == []
