"""Writing files safely, and keeping two processes out of one folder.

- ``atomic_write``: a temporary file beside the target, fsync, then rename, so a crash or a full disk never leaves a
  half-written file. A symbolic link is followed to its (fully resolved) target, which is replaced and the link kept;
  an existing file keeps its permissions, a new one gets those ``open()`` would give it (0666 less the umask). A file
  with other hard links is refused: a rename would give this name a new file and leave the others holding the old one.
  A device or pipe (``--json /dev/stdout``) is written to directly, since it cannot be replaced.
- Temporary files are named ``.{name}.seq2seq-{pid}-{random}.tmp``, so ``sweep_stale_temp_files`` can tell the ones
  this program left (the writer's process is gone) from anyone else's, which it never touches.
- ``FolderLock``: an exclusive ``fcntl.flock`` on a lock file inside a folder. The kernel drops it when the process
  ends, however it ends, so a killed run never leaves its folder locked. ``folder_is_locked`` asks without taking it.
"""

import errno
import fcntl
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

TEMP_MARK = ".seq2seq-"
_TEMP_NAME = re.compile(r"^\..+\.seq2seq-(\d+)-[0-9a-f]{8}\.tmp$")
LOCK_NAME = ".seq2seq.lock"
_LOCK_PATIENCE = 0.2  # seconds FolderLock waits out a lock held only for a moment (``folder_is_locked`` asking)


class OutputPathError(OSError):
    """An output path that cannot be written, with a one-line message fit to show a user as it is."""


class FolderBusyError(OSError):
    """A folder another process holds the lock of."""


def output_target(path: str | Path) -> tuple[Path, int | None]:
    """Where writing ``path`` lands (a symbolic link's fully resolved target) and the permission bits it must keep
    (None for a file that does not exist yet, and for a device or pipe, which is written in place). Raises
    OutputPathError for a path that is a folder, that lies under a file, or whose file has other hard links."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(path)  # follows links, /proc's too (/dev/stdout on a pipe)
    except (FileNotFoundError, NotADirectoryError):
        blocker = next((p for p in target.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise OutputPathError(f"cannot write {path}: {blocker} is a file, not a folder") from None
        return target, None
    except OSError as error:
        raise OutputPathError(f"cannot write {path}: {error.strerror or error}") from error
    if stat.S_ISDIR(info.st_mode):
        raise OutputPathError(f"cannot write {path}: it is a folder; give a file name")
    if not stat.S_ISREG(info.st_mode):
        return path, None
    if info.st_nlink > 1:
        raise OutputPathError(
            f"cannot write {path}: it has {info.st_nlink} hard links and replacing it would cut it off from the "
            "others; write to a new file, or remove the other links first"
        )
    return target, stat.S_IMODE(info.st_mode)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file through ``write(handle)`` so that ``path`` holds either its old content or the whole new one.
    Raises OutputPathError, naming ``path``, when it cannot be written."""
    target, mode = output_target(path)
    tmp: Path | None = None
    try:
        if target.exists() and not target.is_file():  # a device or a pipe: nothing to replace, write straight to it
            with open(target, "wb") as handle:
                write(handle)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(target, 0o666 if mode is None else 0o600)  # a new file: the umask applies
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)  # before any byte is written: never more readable than before
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as error:
        raise OutputPathError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _create_temp(target: Path, mode: int) -> tuple[int, Path]:
    """A new, empty temporary file beside ``target`` whose name says which process made it."""
    while True:
        tmp = target.with_name(f".{target.name[:180]}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), tmp
        except FileExistsError:
            continue


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def write_json(path: str | Path, data: object) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def sweep_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files that ``atomic_write`` left in ``folder`` when its process was killed mid-write:
    only names it makes, and only when the process that made them is gone. Returns what was deleted."""
    swept = []
    for path in Path(folder).glob(".*.tmp"):
        match = _TEMP_NAME.match(path.name)
        if match and path.is_file() and not path.is_symlink() and not _process_alive(int(match[1])):
            path.unlink(missing_ok=True)
            swept.append(path)
    return swept


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a process id this module writes: leave the file alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, and someone else's
    return True


class FolderLock:
    """An exclusive lock on a folder, for as long as the ``with`` block runs: ``.seq2seq.lock`` inside it, locked
    with ``fcntl.flock`` and removed on release. Raises FolderBusyError when another process (or another lock in
    this one) holds it, after waiting a fifth of a second at most for a hold that is only a moment's."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        deadline = time.monotonic() + _LOCK_PATIENCE
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)  # never truncate a link's target
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                by = f"process {holder}" if holder.isdigit() else "another process"
                raise FolderBusyError(
                    f"{self.folder} is in use: {by} is training into it; wait for it to end or choose another folder"
                ) from None
            if self._is_current(fd):
                break
            os.close(fd)  # the holder removed this lock file as it let go: lock the one there now
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def _is_current(self, fd: int) -> bool:
        """Whether the file ``fd`` has open is still the one at ``self.path``."""
        try:
            on_disk = self.path.stat()
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)

    def __exit__(self, *exc_info) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # while still holding it, so no one locks a file about to go
            os.close(self._fd)
            self._fd = None


def folder_is_locked(folder: str | Path) -> bool:
    """Whether another ``FolderLock`` (in any process) holds ``folder`` now. Asks with a shared lock released at once,
    which a FolderLock taken at that moment waits out; a lock file that is missing, a link or unreadable is not held."""
    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        return error.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)  # closing drops the shared lock, if it was taken
    return False
