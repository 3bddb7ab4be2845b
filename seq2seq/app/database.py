"""The app's shared state on disk: one SQLite file under the runs folder, which every server process on the machine
opens, and which outlives a restart.

What lives here is what several people or several processes must see alike (the training queue, a class's answers);
what one person sees alone stays in their browser session. Each user of the database declares its own tables with
``CREATE TABLE IF NOT EXISTS`` in a ``SCHEMA`` string and passes it to ``connect``; this module knows none of them.

- WAL mode: readers never wait for the writer, and two servers can share the file.
- A busy timeout: a writer waits up to ``BUSY_TIMEOUT_S`` for another's transaction instead of failing at once.
- A file that is not a database, or is locked past the timeout, raises ``DatabaseUnavailable`` with one line a page
  can show as it is; the caller decides what goes on without it (nothing is ever deleted or rewritten here).
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import one_line
from .runs import runs_root

DATABASE_NAME = "app.sqlite3"
BUSY_TIMEOUT_S = 5.0


class DatabaseUnavailable(RuntimeError):
    """The shared database cannot be opened or written now; the message is one line, fit to show as it is."""


def database_path(root: str | Path | None = None) -> Path:
    """``app.sqlite3`` in the runs folder (``artifacts/runs`` or ``SEQ2SEQ_RUNS_DIR``)."""
    return Path(root if root is not None else runs_root()) / DATABASE_NAME


def _unavailable(path: Path, error: sqlite3.Error) -> DatabaseUnavailable:
    text = one_line(error)
    if "locked" in text or "busy" in text:
        return DatabaseUnavailable(f"the shared database {path.name} is busy (locked by another process); try again")
    return DatabaseUnavailable(f"the shared database {path} cannot be used: {text}")


@contextmanager
def connect(
    schema: str, path: str | Path | None = None, *, write: bool = True, timeout: float = BUSY_TIMEOUT_S
) -> Iterator[sqlite3.Connection]:
    """A connection to the shared database with ``schema`` created, inside one transaction: committed when the block
    ends, rolled back if it raises. ``write`` takes the write lock at the start (``BEGIN IMMEDIATE``), so that a
    read-then-write never fails halfway; a read-only block leaves it to writers. Any SQLite error (a corrupted or
    foreign file, a lock held past ``timeout`` seconds, a full disk) comes out as ``DatabaseUnavailable``."""
    path = Path(path) if path is not None else database_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except (OSError, sqlite3.Error) as error:
        raise DatabaseUnavailable(f"the shared database {path} cannot be opened: {error}") from error
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(schema)
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        raise _unavailable(path, error) from error
    finally:
        connection.close()
