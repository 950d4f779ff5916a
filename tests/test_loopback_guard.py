"""The suite's guard refuses any connection that is not to loopback, before a packet leaves."""

from __future__ import annotations

import asyncio
import socket

import pytest


@pytest.mark.parametrize("address", [("10.0.0.5", 6379), ("192.0.2.1", 80), ("8.8.8.8", 53)])
def test_a_blocking_connect_elsewhere_is_refused(address: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(ConnectionRefusedError, match="loopback only"):
            sock.connect(address)
        with pytest.raises(ConnectionRefusedError, match="loopback only"):
            sock.connect_ex(address)


async def test_an_asyncio_connection_elsewhere_is_refused() -> None:
    with pytest.raises(ConnectionRefusedError, match="loopback only"):
        await asyncio.open_connection("192.0.2.1", 80)


async def test_loopback_still_connects() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
