"""The autouse guard really refuses non-loopback connections and allows loopback."""

import socket

import pytest


def test_non_loopback_connection_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="network is off"):
        sock.connect(("192.0.2.1", 80))


def test_loopback_connection_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
