"""The Redis fixture runs a real, empty, non-persistent server on loopback."""

from __future__ import annotations

import socket

from wegly_async.testing._redis import _command, flush_redis


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def test_the_server_answers_on_loopback_without_persistence(redis_url: str) -> None:
    assert redis_url.startswith("redis://127.0.0.1:")
    port = _port(redis_url)
    assert _command(port, b"PING") == b"+PONG\r\n"
    # CONFIG GET answers an array: the name, then the value, empty when nothing is saved.
    with socket.create_connection(("127.0.0.1", port), timeout=2.0) as sock:
        sock.sendall(b"CONFIG GET save\r\nCONFIG GET appendonly\r\n")
        data = b""
        while data.count(b"\r\n") < 10:
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
    assert data == b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"


def test_each_test_starts_with_no_keys(redis_url: str) -> None:
    port = _port(redis_url)
    assert _command(port, b"DBSIZE") == b":0\r\n"
    assert _command(port, b"SET wegly-left-over 1") == b"+OK\r\n"


def test_the_next_test_finds_none_left_over(redis_url: str) -> None:
    assert _command(_port(redis_url), b"EXISTS wegly-left-over") == b":0\r\n"


def test_flush_deletes_every_key(redis_url: str) -> None:
    port = _port(redis_url)
    assert _command(port, b"SET a 1") == b"+OK\r\n"
    flush_redis(redis_url)
    assert _command(port, b"DBSIZE") == b":0\r\n"
