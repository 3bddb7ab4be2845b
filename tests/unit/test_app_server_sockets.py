"""Nagle's algorithm is turned off on the sockets the server listens on, and the connections they accept inherit it."""

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from seq2seq.app import server_sockets
from seq2seq.app.server_sockets import turn_off_nagle

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a Windows process cannot list its open files")


@contextmanager
def listening_as_streamlit_does() -> Iterator[socket.socket]:
    """A listening socket made as Streamlit's server makes its own: protocol 0, which asyncio leaves Nagle on for."""
    listener = socket.socket(family=socket.AF_INET)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener
    finally:
        listener.close()


def accepted_no_delay(listener: socket.socket) -> int:
    with socket.create_connection(listener.getsockname()) as _client:
        accepted, _ = listener.accept()
        with accepted:
            return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_listening_socket_made_with_protocol_0_accepts_connections_with_nagle_on():
    """Why the module exists: without it, each connection the server accepts holds small writes back."""
    with listening_as_streamlit_does() as listener:
        assert listener.proto == 0
        assert accepted_no_delay(listener) == 0


def test_after_it_every_accepted_connection_sends_small_writes_at_once():
    with listening_as_streamlit_does() as listener:
        assert turn_off_nagle() >= 1
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert accepted_no_delay(listener) == 1
        assert accepted_no_delay(listener) == 1  # every connection, not only the first


def test_it_leaves_other_sockets_and_files_as_they_are(tmp_path):
    with listening_as_streamlit_does() as listener, open(tmp_path / "file.txt", "w") as handle:
        with socket.create_connection(listener.getsockname()) as client:
            accepted, _ = listener.accept()
            with accepted:
                before = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                turn_off_nagle()
                assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == before  # connected, not listening
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # accepted before it ran
        handle.write("still open")  # its descriptor was duplicated and closed, never the file's own


def test_where_open_files_cannot_be_listed_it_changes_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(server_sockets, "FD_FOLDERS", (tmp_path / "missing",))
    with listening_as_streamlit_does() as listener:
        assert turn_off_nagle() == 0
        assert accepted_no_delay(listener) == 0
