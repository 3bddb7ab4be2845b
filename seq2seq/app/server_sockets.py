"""Send the server's small messages at once: Nagle's algorithm off on the sockets the app server listens on.

Streamlit answers a rerun with a burst of small websocket messages (the run started, a few deltas, the run finished),
written the moment each is ready. With Nagle's algorithm on, the kernel holds a small write back while an earlier one
is not yet acknowledged, and a browser delays its acknowledgements by up to 40 ms: an answer then arrived about 40 ms
after the server had written it. asyncio turns the algorithm off on the connections it makes (``TCP_NODELAY``), but
only for a socket made with protocol ``IPPROTO_TCP``; Streamlit's server binds its own listening socket with protocol
0, so every connection it accepts kept the algorithm on. A connection accepted on Linux, macOS or BSD takes the
listening socket's ``TCP_NODELAY``, so setting it there, before the first visitor (``streamlit_app.py``'s lifespan),
covers every session. docs/speed.md has what it changed.
"""

import os
import socket
from pathlib import Path

# Where a process lists its open file descriptors: Linux, then macOS and BSD.
FD_FOLDERS = (Path("/proc/self/fd"), Path("/dev/fd"))


def turn_off_nagle() -> int:
    """Set ``TCP_NODELAY`` on every TCP socket this process listens on; returns how many (0 where the process's open
    files cannot be listed, as on Windows). Other files and sockets are left as they are."""
    folder = next((path for path in FD_FOLDERS if path.is_dir()), None)
    if folder is None:
        return 0
    turned = 0
    for name in os.listdir(folder):
        try:
            duplicate = os.dup(int(name))  # a socket object of its own: closing it leaves the original open
        except (OSError, ValueError):
            continue  # closed since it was listed (the listing's own descriptor), or not a descriptor
        try:
            sock = socket.socket(fileno=duplicate)
        except OSError:  # not a socket
            os.close(duplicate)
            continue
        with sock:
            if _listening_tcp(sock):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                turned += 1
    return turned


def _listening_tcp(sock: socket.socket) -> bool:
    return (
        sock.family in (socket.AF_INET, socket.AF_INET6)
        and sock.type == socket.SOCK_STREAM
        and bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    )
