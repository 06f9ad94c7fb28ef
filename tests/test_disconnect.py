"""chatserver.disconnect: a client gone while the upstream is silent closes the upstream."""

from __future__ import annotations

import socket

import pytest

from chatserver.disconnect import DisconnectWatcher
from tests.conftest import disconnect_before_first_token
from tests.upstream import Reply


class FakeStream:
    """httpcore's network stream: only ``get_extra_info("socket")``."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def get_extra_info(self, name: str):
        return self.sock if name == "socket" else None


class FakeResponse:
    """The parts of an httpx2.Response the watcher reads."""

    def __init__(self, sock: socket.socket):
        self.extensions = {"network_stream": FakeStream(sock)}
        self.is_closed = False


@pytest.fixture
def pairs():
    """(client_server_side, client_browser_side, upstream_app_side, upstream_server_side) socket pairs."""
    server_side, browser = socket.socketpair()
    app_side, upstream = socket.socketpair()
    upstream.settimeout(2)
    yield server_side, browser, app_side, upstream
    for sock in (server_side, browser, app_side, upstream):
        sock.close()


def test_gone_client_shuts_down_upstream(pairs):
    """Peer EOF on the client socket → the upstream socket is shut down (its peer reads EOF)."""
    server_side, browser, app_side, upstream = pairs
    watcher = DisconnectWatcher(interval=60)  # driven by check() here, not the thread
    watch = watcher.watch({"gunicorn.socket": server_side})
    watcher.set_upstream(watch, FakeResponse(app_side))
    assert watcher.check() == 0 and not watch.fired
    browser.sendall(b"pipelined bytes are not a disconnect")
    assert watcher.check() == 0
    server_side.recv(100)
    browser.close()
    assert watcher.check() == 1 and watch.fired
    assert upstream.recv(10) == b""  # FIN reached the upstream
    assert watcher.check() == 0  # once only
    watcher.unwatch(watch)


def test_finished_or_unwatched_streams_are_left_alone(pairs):
    """A closed upstream response (connection back in the pool) or an unwatched stream is never shut down."""
    server_side, browser, app_side, upstream = pairs
    watcher = DisconnectWatcher(interval=60)
    watch = watcher.watch({"werkzeug.socket": server_side})
    response = FakeResponse(app_side)
    watcher.set_upstream(watch, response)
    response.is_closed = True
    browser.close()
    assert watcher.check() == 0
    response.is_closed = False
    watcher.unwatch(watch)
    assert watcher.check() == 0
    app_side.sendall(b"still open")
    assert upstream.recv(100) == b"still open"


def test_no_socket_in_environ_watches_nothing():
    """A server that exposes no socket: nothing is watched."""
    assert DisconnectWatcher().watch({}) is None


def test_dev_server_stop_while_upstream_silent(app_server, fresh_upstream):
    """`python chat_app.py` (werkzeug): closing the client before the first token closes the upstream."""
    fresh_upstream.script(Reply(content="late", first_token_delay=20))
    port = int(app_server.url.rsplit(":", 1)[1])
    closed_at, closed = disconnect_before_first_token(fresh_upstream, port)
    assert closed and closed[0]["reason"] == "client_disconnected"
    assert closed[0]["t_closed"] - closed_at < 3
