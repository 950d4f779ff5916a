"""A throwaway ``redis-server`` on a free loopback port, without persistence, for tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

__all__ = ["RedisUnavailableError", "flush_redis", "redis_server"]

_STARTUP_SECONDS = 10.0
_BIND_ATTEMPTS = 3


class RedisUnavailableError(RuntimeError):
    """Raised when no ``redis-server`` executable can be found or started."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(port: int, *commands: bytes) -> bytes:
    """Send inline commands to the server on ``port`` and return its first answer line."""
    with socket.create_connection(("127.0.0.1", port), timeout=2.0) as sock:
        sock.sendall(b"".join(command + b"\r\n" for command in commands))
        answer = b""
        while not answer.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            if _command(port, b"PING").startswith(b"+PONG"):
                return True
        time.sleep(0.02)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Run ``redis-server`` on 127.0.0.1 without persistence and yield its ``redis://`` URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RedisUnavailableError(
            "redis-server is not installed (Debian: apt-get install -y redis-server)"
        )
    with tempfile.TemporaryDirectory(prefix="wegly-redis-") as workdir:
        for _ in range(_BIND_ATTEMPTS):
            port = _free_port()
            process = subprocess.Popen(  # noqa: S603 - the PATH's redis-server, fixed args
                [
                    executable,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", workdir,
                    "--daemonize", "no",
                    "--loglevel", "warning",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if _wait_ready(port, process):
                break
            _stop(process)
        else:
            raise RedisUnavailableError("redis-server did not start on a free loopback port")
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(process)


def flush_redis(url: str) -> None:
    """Delete every key of the loopback server at ``url`` (a URL from :func:`redis_server`)."""
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    if not _command(port, b"FLUSHALL").startswith(b"+OK"):
        raise RedisUnavailableError("FLUSHALL failed")
