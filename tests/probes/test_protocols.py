"""Protocol conversations against real servers (and a fake MongoDB: not packaged in Debian)."""

from __future__ import annotations

import re

import pytest

from slimmer.probes import protocols
from slimmer.probes.protocols import NotThisProtocol, bson_decode, bson_encode, mysql_greeting

from .servers import LOOPBACK


def test_redis_ping_and_version(redis_port: int) -> None:
    reply = protocols.redis(LOOPBACK, redis_port, 5)
    assert re.fullmatch(r"PONG redis_version=\d+\.\d+\.\d+ redis_mode=standalone", reply)
    assert protocols.redis(LOOPBACK, redis_port, 5) == reply  # nothing volatile in it


def test_redis_with_password_is_alive(redis_auth_port: int) -> None:
    assert protocols.redis(LOOPBACK, redis_auth_port, 5) == "error NOAUTH"


def test_memcached_version_and_read(memcached_port: int) -> None:
    reply = protocols.memcached(LOOPBACK, memcached_port, 5)
    assert re.fullmatch(r"VERSION \d+\.\d+\.\d+ get=END", reply)


def test_postgres_trust_runs_select_over_tls(postgres_port: int) -> None:
    reply = protocols.postgres(LOOPBACK, postgres_port, 10)
    assert re.fullmatch(r"ready server_version=\d+\.\d+ SELECT 1 -> 1", reply)


def test_postgres_asking_for_a_password_is_alive(postgres_port: int) -> None:
    assert protocols.postgres(LOOPBACK, postgres_port, 10, user="other") == "auth sasl"


def test_postgres_error_is_a_reply(postgres_port: int) -> None:
    reply = protocols.postgres(LOOPBACK, postgres_port, 10, database="no_such_db")
    assert reply == "error 3D000"  # invalid_catalog_name


def test_mariadb_greeting(mariadb_port: int) -> None:
    reply = protocols.mysql(LOOPBACK, mariadb_port, 5)
    assert re.fullmatch(r"protocol 10 server 5\.5\.5-\d+\.\d+\.\d+-MariaDB\S*", reply)


def test_mongodb_hello(mongo_port: int) -> None:
    assert protocols.mongodb(LOOPBACK, mongo_port, 5) == "hello ok maxWireVersion=17"


def test_old_mongodb_falls_back_to_is_master(old_mongo_port: int) -> None:
    assert protocols.mongodb(LOOPBACK, old_mongo_port, 5) == "isMaster ok maxWireVersion=17"


@pytest.mark.parametrize("kind", ["redis", "memcached", "postgres", "mongodb", "mysql"])
def test_each_conversation_rejects_an_http_server(kind: str, http_port: int) -> None:
    with pytest.raises(NotThisProtocol):
        protocols.CONVERSATIONS[kind](LOOPBACK, http_port, 1.0)


@pytest.mark.parametrize(("kind", "other"), [
    ("redis", "memcached_port"), ("memcached", "redis_port"), ("postgres", "redis_port"),
    ("mongodb", "memcached_port"), ("mysql", "postgres_port"), ("redis", "mariadb_port"),
    ("postgres", "mariadb_port"),
])
def test_conversations_do_not_mistake_other_servers(kind: str, other: str,
                                                    request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue(other)
    with pytest.raises(NotThisProtocol):
        protocols.CONVERSATIONS[kind](LOOPBACK, port, 1.5)


def test_silent_server_is_bounded_by_the_timeout(silent_port: int) -> None:
    with pytest.raises(NotThisProtocol, match="no answer in time"):
        protocols.redis(LOOPBACK, silent_port, 0.5)


def test_refused_port_is_an_os_error() -> None:
    from .servers import free_port

    with pytest.raises(OSError):
        protocols.memcached(LOOPBACK, free_port(), 1)


def test_bson_round_trip_and_hostile_input() -> None:
    doc = {"hello": 1, "$db": "admin", "ratio": 0.5, "flag": True}
    assert bson_decode(bson_encode(doc)) == doc
    with pytest.raises(NotThisProtocol):
        bson_decode(b"\x05\x00\x00\x00\x01")  # not NUL-terminated
    with pytest.raises(NotThisProtocol):
        bson_decode(b"\x0e\x00\x00\x00\x02a\x00\xff\x00\x00\x00x\x00\x00")  # string overruns
    with pytest.raises(NotThisProtocol):
        bson_decode(b"\x08\x00\x00\x00\x42a\x00\x00")  # unknown type 0x42


def test_mysql_greeting_recognition() -> None:
    greeting = b"\n8.0.36\x00" + b"\x01" * 20
    packet = len(greeting).to_bytes(3, "little") + b"\x00" + greeting
    assert mysql_greeting(packet) == "protocol 10 server 8.0.36"
    error = b"\xff\x69\x04Host is not allowed"
    assert mysql_greeting(len(error).to_bytes(3, "little") + b"\x00" + error) == "error 1129"
    assert mysql_greeting(b"SSH-2.0-OpenSSH_9.2\r\n") is None
    assert mysql_greeting(b"220 smtp.example ESMTP\r\n") is None
