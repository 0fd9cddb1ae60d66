"""A websocket client that reads nothing is cut off at a bounded buffer, with a close reason.

The server runs without Ray (local jobs backend, no head): ``events/subscribe`` on the ``jobs``
topic is a real route whose pushes are not flow-controlled, so it is where a client that stops
reading would make the server buffer without end. The test's client is a raw socket with a small
receive buffer that completes the websocket handshake and then reads nothing while the change
feed pushes; the bytes tornado buffers for it are measured on the real stream after every write.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from urllib.parse import urlsplit

import pytest

from iog_jupyter.handlers.base import IogWebSocketHandler
from tests.fixtures import NO_RAY, server_config

LIMIT = 256 * 1024
#: Pushes at most this many ``changed`` messages (~40 bytes each) before giving up on a cut-off.
MAX_PUSHES = 400_000


@pytest.fixture
def jp_server_config(tmp_path):
    return server_config(
        refresh_interval_s=0.5,
        jobs_backend="local",
        jobs_state_dir=tmp_path / "iog_state",
        ray_address=NO_RAY,
        websocket_max_buffer_bytes=LIMIT,
    )


@pytest.fixture
def buffered(monkeypatch) -> dict[str, int]:
    """Record, after every write, how many bytes tornado's stream holds for the socket."""
    seen = {"max_stream_bytes": 0, "max_message_bytes": 0, "written": 0, "refused": 0}
    original = IogWebSocketHandler.write_message

    def write_message(self, message, binary=False):
        try:
            future = original(self, message, binary)
        except Exception:
            seen["refused"] += 1
            raise
        seen["written"] += 1
        seen["max_message_bytes"] = max(seen["max_message_bytes"], len(message))
        stream = self.ws_connection.stream
        seen["max_stream_bytes"] = max(seen["max_stream_bytes"], len(stream._write_buffer))
        return future

    monkeypatch.setattr(IogWebSocketHandler, "write_message", write_message)
    return seen


async def _handshake(server_url: str, token: str, path: str, rcvbuf: int | None) -> socket.socket:
    """A websocket upgrade on a raw non-blocking socket; returns it once the 101 is read."""
    parts = urlsplit(server_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # set before connecting: the window the client offers stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path}iog/api/v1/{path} HTTP/1.1\r\n"
        f"Host: {parts.hostname}:{parts.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: token {token}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # one byte at a time: nothing past the headers
        byte = await asyncio.wait_for(loop.sock_recv(sock, 1), 10)
        assert byte, f"closed during the handshake: {head!r}"
        head += byte
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each complete server frame (unmasked) in ``data``."""
    frames, at = [], 0
    while at + 2 <= len(data):
        opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if length == 126:
            (length,) = struct.unpack(">H", data[at : at + 2])
            at += 2
        elif length == 127:
            (length,) = struct.unpack(">Q", data[at : at + 8])
            at += 8
        if at + length > len(data):
            break
        frames.append((opcode, data[at : at + length]))
        at += length
    return frames


async def _read_to_end(sock: socket.socket, timeout_s: float) -> bytes:
    loop, data = asyncio.get_running_loop(), bytearray()
    while chunk := await asyncio.wait_for(loop.sock_recv(sock, 1 << 16), timeout_s):
        data += chunk
    return bytes(data)


async def _wait_for(check, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_client_that_reads_nothing_is_cut_off_with_a_reason(
    jp_serverapp, server_url, buffered
) -> None:
    (app,) = jp_serverapp.extension_manager.extension_apps["iog_jupyter"]
    token = jp_serverapp.identity_provider.token
    path = "events/subscribe?topics=jobs"
    stalled = await _handshake(server_url, token, path, rcvbuf=4096)
    reader = await _handshake(server_url, token, path, rcvbuf=None)
    loop = asyncio.get_running_loop()
    received = bytearray()

    async def read_all() -> None:  # the healthy client: reads whatever comes, until closed
        while chunk := await loop.sock_recv(reader, 1 << 16):
            received.extend(chunk)

    reading = asyncio.create_task(read_all())
    try:
        await _wait_for(lambda: app.changes.subscribers == 2)
        await _wait_for(lambda: buffered["written"] >= 2)  # both got "subscribed"
        # The change feed pushes to both sockets, yielding to the loop now and then (as its
        # own rounds do); the stalled client's kernel buffers fill, then tornado's.
        pushes = 0
        while buffered["refused"] == 0 and pushes < MAX_PUSHES:
            for _topics, listener in list(app.changes._listeners.values()):
                listener("jobs")
            pushes += 1
            if pushes % 500 == 0:
                await asyncio.sleep(0)
        assert buffered["refused"] == 1, f"no cut-off after {pushes} pushes: {buffered}"
        # Never more than the bound plus one message (and its frame header) was held.
        assert buffered["max_stream_bytes"] <= LIMIT + buffered["max_message_bytes"] + 10
        assert buffered["max_stream_bytes"] > LIMIT // 2, buffered  # it did fill up
        # The closed socket is not written to again; the healthy one still is.
        for _ in range(1000):
            for _topics, listener in list(app.changes._listeners.values()):
                listener("jobs")
        assert buffered["refused"] == 1
        assert app.changes.subscribers == 2  # the slow one's slot goes when its stream closes

        # Now the stalled client reads: the backlog, then a close frame with code and reason.
        data = await _read_to_end(stalled, 10)
        opcode, payload = _frames(data)[-1]
        assert opcode == 0x8, _frames(data)[-3:]
        (code,) = struct.unpack(">H", payload[:2])
        reason = payload[2:].decode()
        assert code == 1008
        assert "Client too slow" in reason and "websocket_max_buffer_bytes" in reason, reason
        assert len(payload) <= 125
        await _wait_for(lambda: app.changes.subscribers == 1)
        assert not reading.done()  # the client that reads was never cut off
        await _wait_for(lambda: len(_frames(bytes(received))) >= pushes + 1001, 20)
        assert {op for op, _ in _frames(bytes(received))} == {0x1}
    finally:
        reading.cancel()
        stalled.close()
        reader.close()
    await _wait_for(lambda: app.changes.subscribers == 0)


async def test_a_message_larger_than_the_bound_still_goes_out_alone(
    jp_serverapp, server_url, buffered
) -> None:
    """A snapshot bigger than the bound is sent on an empty buffer; the next one waits for it."""
    (app,) = jp_serverapp.extension_manager.extension_apps["iog_jupyter"]
    token = jp_serverapp.identity_provider.token
    sock = await _handshake(server_url, token, "events/subscribe?topics=jobs", rcvbuf=None)
    reading = asyncio.create_task(_read_to_end(sock, 30))
    try:
        await _wait_for(lambda: app.changes.subscribers == 1)
        await _wait_for(lambda: buffered["written"] >= 1)
        (handler,) = [listener.__self__ for _topics, listener in app.changes._listeners.values()]
        big = "x" * (4 * LIMIT)
        await handler.write_message(big)  # awaited: the client's kernel takes it all
        assert buffered["refused"] == 0
        assert handler.unsent_bytes == 0
        assert handler.max_unsent_bytes >= 4 * LIMIT
    finally:
        reading.cancel()
        sock.close()
