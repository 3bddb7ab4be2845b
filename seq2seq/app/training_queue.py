"""The training queue: every Start becomes a row in the app's shared SQLite database, and the servers sharing that
database train the rows first in, first out.

- One queued or training run per browser session (``owner``): a second Start is refused with a message, never queued.
- A claim is one ``BEGIN IMMEDIATE`` transaction (``seq2seq.app.database.connect``): two servers sharing the database
  see one queue, and never both take the same row.
- A server that claimed a row beats a heartbeat on it (with the run's progress) every second or so; a row whose
  claimer's process is gone (same machine: its process id no longer exists) or whose heartbeat is older than
  ``STALE_S`` (any machine) is marked "interrupted", and its owner may queue it again (``restart``).
- Bounded: at most ``MAX_WAITING`` rows queued at once (the next Start says the queue is full), and at most
  ``KEEP_ENDED`` ended rows kept (the oldest are deleted as new ones are queued).

This module knows nothing about training or Streamlit: it stores rows and answers questions about them.
"""

import heapq
import json
import math
import os
import socket
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import Config
from .database import connect, database_path

MAX_WAITING = 100  # rows queued at once, over every server sharing the database
KEEP_ENDED = 200  # ended rows (finished, failed, cancelled, interrupted) kept for the page and the estimates
STALE_S = 30.0  # a running row whose heartbeat is older than this was cut off
TYPICAL_OF = 20  # the estimate's typical run: the median duration of the last this many finished runs

EntryStatus = Literal["queued", "running", "finished", "failed", "cancelled", "interrupted"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS training_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,            -- the browser session that pressed Start
    config TEXT NOT NULL,           -- the run's Config, as JSON
    corpus TEXT NOT NULL,           -- what it learns from, as shown ("built-in generator", an uploaded file's name)
    corpus_text BLOB,               -- an uploaded corpus, kept while the run may still need it
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    claimed_by TEXT,                -- host:pid:token of the server process training it
    heartbeat_at REAL,
    progress REAL NOT NULL DEFAULT 0,  -- the fraction of its steps done, as its claimer last said
    stop_requested INTEGER NOT NULL DEFAULT 0,
    run_dir TEXT,
    message TEXT
);
CREATE INDEX IF NOT EXISTS training_queue_status ON training_queue (status, id);
"""


class QueueRefused(RuntimeError):
    """A Start that cannot be queued (the session has a run already, or the queue is full); one line, fit to show."""


@dataclass(frozen=True)
class Entry:
    id: int
    owner: str
    config: Config
    corpus: str
    status: EntryStatus
    created_at: float
    started_at: float | None
    finished_at: float | None
    claimed_by: str | None
    progress: float
    stop_requested: bool
    run_dir: Path | None
    message: str | None

    @property
    def run_name(self) -> str:
        return self.run_dir.name if self.run_dir else f"#{self.id}"


def _entry(row) -> Entry:
    return Entry(
        id=row["id"],
        owner=row["owner"],
        config=Config.from_dict(json.loads(row["config"])),
        corpus=row["corpus"],
        status=row["status"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        claimed_by=row["claimed_by"],
        progress=row["progress"],
        stop_requested=bool(row["stop_requested"]),
        run_dir=Path(row["run_dir"]) if row["run_dir"] else None,
        message=row["message"],
    )


COLUMNS = (
    "id, owner, config, corpus, status, created_at, started_at, finished_at, claimed_by, progress, stop_requested, "
    "run_dir, message"
)  # every column but the corpus's bytes


def process_claimer() -> str:
    """A name for a claimer in this process: ``host:pid:token`` (the token tells two claimers of one process apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claimer_is_gone(claimer: str) -> bool:
    """Whether ``claimer`` ran on this machine in a process that no longer exists (another machine's cannot be told:
    its heartbeat says)."""
    host, _, rest = claimer.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user's
    return False


class TrainingQueue:
    """The queue in the database at ``path`` (``app.sqlite3`` in the runs folder when None). Every method is one
    transaction and raises ``DatabaseUnavailable`` (one line) when the database cannot be used."""

    def __init__(
        self, path: str | Path | None = None, max_waiting: int = MAX_WAITING, keep_ended: int = KEEP_ENDED
    ) -> None:
        self.path = path
        self.max_waiting = max_waiting
        self.keep_ended = keep_ended

    def exists(self) -> bool:
        """Whether the database file is there (a server where no one ever pressed Start has none)."""
        return Path(self.path if self.path is not None else database_path()).is_file()

    def _connect(self, write: bool = True):
        return connect(SCHEMA, self.path, write=write)

    # ------------------------------------------------------------------------------------------------- a session
    def enqueue(self, owner: str, config: Config, corpus: str, corpus_text: bytes | None = None) -> Entry:
        """Queue a run for ``owner``; raises QueueRefused when the owner has a run queued or training, or the queue
        is full. Ended rows past ``keep_ended`` are deleted, oldest first."""
        config.validate()
        with self._connect() as db:
            mine = db.execute(
                f"SELECT {COLUMNS} FROM training_queue WHERE owner = ? AND status IN ('queued', 'running')", (owner,)
            ).fetchone()
            if mine is not None:
                raise QueueRefused(self._already(db, _entry(mine)))
            waiting = db.execute("SELECT COUNT(*) FROM training_queue WHERE status = 'queued'").fetchone()[0]
            if waiting >= self.max_waiting:
                raise QueueRefused(
                    f"The training queue is full ({waiting} runs waiting, the most this server keeps): try again "
                    "when some have started."
                )
            cursor = db.execute(
                "INSERT INTO training_queue (owner, config, corpus, corpus_text, status, created_at) "
                "VALUES (?, ?, ?, ?, 'queued', ?)",
                (owner, json.dumps(config.to_dict()), corpus, corpus_text, time.time()),
            )
            db.execute(
                "DELETE FROM training_queue WHERE id IN (SELECT id FROM training_queue WHERE status NOT IN "
                "('queued', 'running') ORDER BY id DESC LIMIT -1 OFFSET ?)",
                (self.keep_ended,),
            )
            row = db.execute(f"SELECT {COLUMNS} FROM training_queue WHERE id = ?", (cursor.lastrowid,)).fetchone()
            return _entry(row)

    @staticmethod
    def _already(db, entry: Entry) -> str:
        if entry.status == "running":
            return (
                f"Your run is already in progress (run {entry.run_name}, running): stop it or wait for it to finish "
                "before starting another."
            )
        position = db.execute(
            "SELECT COUNT(*) FROM training_queue WHERE status = 'queued' AND id <= ?", (entry.id,)
        ).fetchone()[0]
        return (
            f"Your run is already in the queue (number {position}): cancel it or wait for it to train before "
            "starting another."
        )

    def latest(self, owner: str) -> Entry | None:
        """The owner's newest row, whatever its status; None when it has none."""
        if not self.exists():  # reading never makes the database
            return None
        with self._connect(write=False) as db:
            row = db.execute(
                f"SELECT {COLUMNS} FROM training_queue WHERE owner = ? ORDER BY id DESC LIMIT 1", (owner,)
            ).fetchone()
        return _entry(row) if row is not None else None

    def cancel(self, owner: str) -> bool:
        """Take the owner's queued run out of the queue; False when it has none queued (a run training is stopped,
        not cancelled)."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE training_queue SET status = 'cancelled', finished_at = ?, corpus_text = NULL "
                "WHERE owner = ? AND status = 'queued'",
                (time.time(), owner),
            )
            return cursor.rowcount > 0

    def request_stop(self, entry_id: int) -> bool:
        """Ask the server training run ``entry_id`` to stop it (it does at its next round); False when that run is
        not training."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE training_queue SET stop_requested = 1 WHERE id = ? AND status = 'running'", (entry_id,)
            )
            return cursor.rowcount > 0

    def restart(self, owner: str) -> Entry:
        """Queue the owner's newest run again, with its settings and corpus, when it was interrupted or failed;
        raises QueueRefused otherwise (or under ``enqueue``'s rules)."""
        with self._connect(write=False) as db:
            row = db.execute(
                "SELECT config, corpus, corpus_text, status FROM training_queue WHERE owner = ? ORDER BY id DESC "
                "LIMIT 1",
                (owner,),
            ).fetchone()
        if row is None or row["status"] not in ("interrupted", "failed"):
            raise QueueRefused("You have no interrupted run to start again.")
        return self.enqueue(owner, Config.from_dict(json.loads(row["config"])), row["corpus"], row["corpus_text"])

    # ------------------------------------------------------------------------------------------------- a server
    def claim(self, claimer: str) -> tuple[Entry, bytes | None] | None:
        """Take the first queued row for ``claimer`` (atomic across processes): it, with its uploaded corpus if any;
        None when nothing waits."""
        with self._connect() as db:
            row = db.execute(
                f"SELECT {COLUMNS}, corpus_text FROM training_queue WHERE status = 'queued' ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            now = time.time()
            db.execute(
                "UPDATE training_queue SET status = 'running', claimed_by = ?, started_at = ?, heartbeat_at = ? "
                "WHERE id = ?",
                (claimer, now, now, row["id"]),
            )
            claimed = db.execute(f"SELECT {COLUMNS} FROM training_queue WHERE id = ?", (row["id"],)).fetchone()
        return _entry(claimed), row["corpus_text"]

    def started(self, entry_id: int, run_dir: Path) -> None:
        with self._connect() as db:
            db.execute("UPDATE training_queue SET run_dir = ? WHERE id = ?", (str(run_dir), entry_id))

    def heartbeat(self, claimer: str, progress: dict[int, float]) -> set[int]:
        """Say ``claimer``'s runs (id: fraction done) go on; returns the ids whose owners asked them to stop."""
        with self._connect() as db:
            now = time.time()
            for entry_id, fraction in progress.items():
                db.execute(
                    "UPDATE training_queue SET heartbeat_at = ?, progress = ? WHERE id = ? AND claimed_by = ?",
                    (now, fraction, entry_id, claimer),
                )
            marks = ",".join("?" * len(progress))
            rows = db.execute(
                f"SELECT id FROM training_queue WHERE id IN ({marks}) AND stop_requested = 1", tuple(progress)
            ).fetchall()
        return {row["id"] for row in rows}

    def end(self, entry_id: int, status: EntryStatus, message: str | None = None) -> None:
        """Record how a claimed run ended. An uploaded corpus is dropped once it finished (its folder keeps a copy);
        a run that failed or was cut off keeps it, to be started again."""
        with self._connect() as db:
            db.execute(
                "UPDATE training_queue SET status = ?, finished_at = ?, message = ?, progress = "
                "CASE WHEN ? = 'finished' THEN 1 ELSE progress END, "
                "corpus_text = CASE WHEN ? = 'finished' THEN NULL ELSE corpus_text END WHERE id = ?",
                (status, time.time(), message, status, status, entry_id),
            )

    def reap(self, stale_s: float = STALE_S) -> list[int]:
        """Mark "interrupted" every running row whose claimer is gone: its process ended (this machine) or its
        heartbeat is older than ``stale_s``. Returns their ids."""
        with self._connect() as db:
            rows = db.execute("SELECT id, claimed_by, heartbeat_at FROM training_queue WHERE status = 'running'")
            cutoff = time.time() - stale_s
            gone = [
                row["id"]
                for row in rows.fetchall()
                if claimer_is_gone(row["claimed_by"] or "") or (row["heartbeat_at"] or 0) < cutoff
            ]
            for entry_id in gone:
                db.execute(
                    "UPDATE training_queue SET status = 'interrupted', finished_at = ?, message = ? WHERE id = ?",
                    (time.time(), "the server training it stopped before the run ended", entry_id),
                )
        return gone

    # ------------------------------------------------------------------------------------------------- reading
    def board(self) -> list[Entry]:
        """The runs training, then those waiting in queue order."""
        if not self.exists():
            return []
        with self._connect(write=False) as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM training_queue WHERE status IN ('queued', 'running') "
                "ORDER BY status = 'queued', id"
            ).fetchall()
        return [_entry(row) for row in rows]

    def typical_duration(self) -> float | None:
        """The median wall time of the last ``TYPICAL_OF`` finished runs; None before any finished."""
        if not self.exists():
            return None
        with self._connect(write=False) as db:
            rows = db.execute(
                "SELECT finished_at - started_at AS took FROM training_queue WHERE status = 'finished' AND "
                "started_at IS NOT NULL ORDER BY id DESC LIMIT ?",
                (TYPICAL_OF,),
            ).fetchall()
        return statistics.median(row["took"] for row in rows) if rows else None


def remaining_time(entry: Entry, typical: float | None, now: float) -> float | None:
    """How long a running ``entry`` should still take: its elapsed time scaled by its progress once it has made some,
    else what is left of a typical run; None when neither is known."""
    elapsed = now - entry.started_at if entry.started_at is not None else 0.0
    if entry.progress > 0:
        return elapsed * (1 - entry.progress) / entry.progress
    return max(typical - elapsed, 0.0) if typical is not None else None


def start_estimates(board: list[Entry], slots: int, typical: float | None, now: float) -> dict[int, float | None]:
    """Seconds until each queued entry of ``board`` should start, None where it cannot be told. The ``slots`` free up
    as the running runs end (``remaining_time``); each run ahead in the queue then holds a slot for a typical run's
    time: ``typical``, or before any run finished, the median of the running runs' projected whole durations."""
    running = [entry for entry in board if entry.status == "running"]
    if typical is None:
        moving = [entry for entry in running if entry.progress > 0 and entry.started_at is not None]
        totals = [(now - entry.started_at) / entry.progress for entry in moving]
        typical = statistics.median(totals) if totals else None
    frees = [remaining_time(entry, typical, now) for entry in running]
    frees = [math.inf if free is None else free for free in frees] + [0.0] * max(slots - len(running), 0)
    heapq.heapify(frees)
    duration = typical if typical is not None else math.inf
    estimates: dict[int, float | None] = {}
    for entry in (entry for entry in board if entry.status == "queued"):
        start = heapq.heappop(frees)
        estimates[entry.id] = start if math.isfinite(start) else None
        heapq.heappush(frees, start + duration)
    return estimates
