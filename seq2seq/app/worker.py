"""A background training worker: one ``Trainer`` on its own thread, with a thread-safe view of its progress.

A worker is one training slot: the app's ``TrainingPool`` (``seq2seq.app.dispatch``) holds one per slot and starts
the runs it takes from the queue on the free ones; every browser session reads them. The worker knows nothing about
Streamlit. At most one run goes on per worker: a second ``start`` while one runs raises ``TrainingBusy`` instead of
starting another. Each run gets a new folder under the runs root, so it never writes over another run or the shipped
model. ``_train`` is the one step a subclass changes to train elsewhere (a child process,
``seq2seq.app.process_worker``; a Ray cluster, ``seq2seq.app.ray_dispatch``): there the run is ``train_reporting``,
which sends its reports back, and the worker takes them in with ``_take``.

Workers are stopped and joined at interpreter exit: a thread still inside torch when the interpreter tears down
aborts the process (exit status 134), and a child process still training would be terminated, its run lost.
"""

import atexit
import contextlib
import itertools
import logging
import multiprocessing.util  # noqa: F401 - its exit hook, which terminates child processes, must run after ours
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import torch

from ..config import Config
from ..data import RunData, load_run_data
from ..errors import one_line
from ..fileio import atomic_write
from ..paths import new_run_dir
from ..records import BatchPoint, HistoryRow, Snapshot, StopReason
from ..replay import Thinning
from ..run_folder import Trainer
from ..train import Progress
from .runs import ACTIVE_STATUSES, RunStatus, upload_run_data, write_run_info

MAX_LOG_LINES = 400
MAX_CURVE_POINTS = 300

logger = logging.getLogger(__name__)
_WORKERS: "weakref.WeakSet[TrainingWorker]" = weakref.WeakSet()
_RUN_IDS = itertools.count(1)  # shared by every worker: a run id names one run of this process


class TrainingBusy(RuntimeError):
    """A run is already going on; only one trains at a time."""


class Stoppable(Protocol):
    """What a worker stops a run with: the ``Trainer``, or a handle on a run trained elsewhere."""

    def stop(self) -> None: ...


Send = Callable[[str, object], bool]
"""How a run trained elsewhere sends a report, ``("progress", Progress)`` or ``("log", line)``: returns whether the
run is asked to stop."""


def train_reporting(config: Config, data: RunData, folder: str | Path, send: Send, report_every: int) -> dict:
    """Train ``data`` into ``folder``, sending every progress report and log line with ``send`` and stopping when it
    says so: a run trained elsewhere (a child process, a Ray node). Returns how it ended, ``{"stop_reason", "test"}``
    (the test metrics)."""

    def report(progress: Progress) -> None:
        if send("progress", progress):
            trainer.stop()

    trainer = Trainer(
        config, data, folder, callback=report, report_every=report_every, log=lambda line: send("log", line)
    )
    result = trainer.run()
    return {"stop_reason": result.stop_reason, "test": result.test.to_dict()}


class RemoteRun:
    """What a worker stops a run trained elsewhere with (``stop``: asks it), and the moments of its replay as they
    come back (the remote ``Trainer`` keeps the same ones in the checkpoint)."""

    def __init__(self, stop: Callable[[], object]) -> None:
        self._stop = stop
        self.replay = Thinning()

    def stop(self) -> None:
        self._stop()


def downsample(points: list, limit: int = MAX_CURVE_POINTS) -> list:
    """At most ``limit`` evenly spaced points, always keeping the first and the last one."""
    if limit < 2 or len(points) <= limit:
        return list(points[: max(limit, 0)] if limit < 2 else points)
    last = len(points) - 1
    picks = sorted({round(i * last / (limit - 1)) for i in range(limit)})
    return [points[i] for i in picks]


@dataclass(frozen=True)
class TrainingState:
    """A consistent copy of a worker's progress, safe to read while the run goes on."""

    run_id: int = 0  # a new one, larger than any before in this process, at every start; 0: nothing started yet
    status: RunStatus = "idle"
    run_dir: Path | None = None
    config: Config | None = None
    corpus: str = ""
    data_summary: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    epoch: int = 0
    step: int = 0
    total_steps: int = 0
    batches: list[BatchPoint] = field(default_factory=list)  # downsampled
    history: list[HistoryRow] = field(default_factory=list)  # one row per validation, as in history.csv
    log: list[str] = field(default_factory=list)
    snapshot: Snapshot | None = None  # the latest attention snapshot
    snapshot_count: int = 0
    replay: list[Snapshot] = field(default_factory=list)  # the moments the run keeps so far (``seq2seq.replay``)
    stop_reason: StopReason | None = None
    test_metrics: dict | None = None
    error: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def live_run_dir(self) -> Path | None:
        """The folder of the run training now, which no one may pick, open or delete; None when none is."""
        return self.run_dir if self.active else None

    @property
    def fraction(self) -> float:
        if self.status == "finished":
            return 1.0
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def checkpoint_path(self) -> Path | None:
        return self.run_dir / "model.pt" if self.run_dir else None

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


class TrainingWorker:
    """Runs one training at a time on a daemon thread and keeps what the app shows while it goes on."""

    def __init__(self, report_every: int = 5, max_log_lines: int = MAX_LOG_LINES) -> None:
        self.report_every = report_every
        self.max_log_lines = max_log_lines
        self._lock = threading.Lock()
        self._state = TrainingState()
        self._batches: list[BatchPoint] = []
        self._thread: threading.Thread | None = None
        self._trainer: Stoppable | None = None
        self._stop_requested = False
        self._shutting_down = False  # the server is stopping: a run cut off now was not stopped by a user
        _WORKERS.add(self)

    # ----------------------------------------------------------------------------------------------------- reading
    def state(self, max_points: int = MAX_CURVE_POINTS) -> TrainingState:
        with self._lock:
            return replace(self._state, batches=downsample(self._batches, max_points))

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._state.active

    # ----------------------------------------------------------------------------------------------------- control
    def start(
        self,
        config: Config,
        runs_root: str | Path,
        data: RunData | None = None,
        corpus: str = "built-in generator",
        corpus_text: bytes | None = None,
    ) -> TrainingState:
        """Start a run in a new folder under ``runs_root``; raise TrainingBusy if one is going on.

        Without ``data`` the corpus is made on the worker thread: from ``corpus_text``, the uploaded file a run was
        given (kept in its folder as ``corpus.txt``), else the built-in generator's for ``config``.
        """
        config.validate()
        with self._lock:
            if self._state.active:
                raise TrainingBusy(
                    f"A training run is already in progress ({self._state.run_dir.name if self._state.run_dir else ''},"
                    f" {self._state.status}); stop it or wait for it to finish before starting another."
                )
            run_dir = new_run_dir(runs_root)  # OSError (say, a read-only folder) leaves the worker as it was
            state = TrainingState(
                run_id=next(_RUN_IDS),
                status="preparing",
                run_dir=run_dir,
                config=config,
                corpus=corpus,
                started_at=time.time(),
            )
            try:
                write_run_info(run_dir, self._info(state))
            except OSError:
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
                raise
            self._batches = []
            self._stop_requested = self._shutting_down = False
            self._state = state
            self._thread = threading.Thread(
                target=self._run,
                args=(config, run_dir, data, corpus, corpus_text),
                name=f"seq2seq-train-{run_dir.name}",
                daemon=True,  # never keeps the interpreter alive; the atexit hook stops and joins it
            )
        self._thread.start()
        return state

    def stop(self) -> bool:
        """Ask the current run to stop after its batch; the best checkpoint so far stays. False if none runs."""
        with self._lock:
            if not self._state.active:
                return False
            self._stop_requested = True
            if self._trainer is not None:
                self._trainer.stop()
            self._state = replace(self._state, status="stopping")
            self._log_locked("stop requested: finishing the current batch, then validating and saving")
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run's thread; True when no run is going on any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the run going on, as the server stops (its stop reason says so, not "stopped by a user"), and wait."""
        with self._lock:
            self._shutting_down = not self._stop_requested  # a user's Stop before it stays the user's
        self.stop()
        self.wait(timeout)

    # ----------------------------------------------------------------------------------------------------- the run
    def _run(self, config: Config, run_dir: Path, data: RunData | None, corpus: str, corpus_text: bytes | None):
        # One intra-op thread: on a small machine the server must stay responsive while this trains.
        torch.set_num_threads(1)
        try:
            if corpus_text is not None:
                atomic_write(run_dir / "corpus.txt", lambda handle: handle.write(corpus_text))
            if data is None and corpus_text is not None:
                data = upload_run_data(config, corpus_text, corpus)
            elif data is None:
                self._log("generating the built-in corpus")
                data = load_run_data(config)
            summary = data.summary()
            self._log(summary)
            with self._lock:
                self._state = replace(self._state, data_summary=summary)
            stop_reason, metrics = self._train(config, data, run_dir)
            with self._lock:
                if stop_reason == "stopped" and self._shutting_down:
                    stop_reason = "server_stopped"
                self._state = replace(
                    self._state,
                    status="failed" if stop_reason == "diverged" else "finished",
                    stop_reason=stop_reason,
                    test_metrics=metrics,
                    error="the training loss became non-finite; try a smaller learning rate"
                    if stop_reason == "diverged"
                    else None,
                    finished_at=time.time(),
                )
        except Exception as error:  # any failure ends the run with a message, never a dead thread
            logger.exception("training run %s failed", run_dir)
            message = one_line(error)
            with self._lock:
                self._log_locked(f"failed: {message}")
                self._state = replace(self._state, status="failed", error=message, finished_at=time.time())
        finally:
            with self._lock:
                self._trainer = None
                state = self._state
            try:
                write_run_info(run_dir, self._info(state))
            except OSError as error:
                logger.warning("could not write run.json in %s: %s", run_dir, error)

    def _train(self, config: Config, data: RunData, run_dir: Path) -> tuple[StopReason, dict]:
        """Train ``data`` into ``run_dir`` on this thread: why the run stopped, and its test metrics."""
        trainer = Trainer(
            config, data, run_dir, callback=self._on_progress, report_every=self.report_every, log=self._log
        )
        self._training(trainer)
        result = trainer.run()
        return result.stop_reason, result.test.to_dict()

    def _training(self, trainer: Stoppable) -> None:
        """The run is training now, and ``trainer.stop()`` stops it (at once if a stop was asked already)."""
        with self._lock:
            self._trainer = trainer
            if self._stop_requested:
                trainer.stop()
            self._state = replace(self._state, status="stopping" if self._stop_requested else "running")

    def _on_progress(self, progress: Progress) -> None:
        with self._lock:
            changes: dict = {"epoch": progress.epoch, "step": progress.step, "total_steps": progress.total_steps}
            if progress.kind == "batch":
                self._batches.append(
                    BatchPoint(step=progress.step, train_loss=progress.train_loss, grad_norm=progress.grad_norm)
                )
            elif progress.kind == "eval" and progress.row is not None:
                changes["history"] = [*self._state.history, progress.row]
                if progress.snapshot is not None:
                    changes["snapshot"] = progress.snapshot
                    changes["snapshot_count"] = self._state.snapshot_count + 1
                if self._trainer is not None:  # it recorded this validation before reporting it
                    changes["replay"] = self._trainer.replay.moments
            self._state = replace(self._state, **changes)

    def _take(self, reports: list[tuple[str, object]], remote: RemoteRun) -> None:
        """The reports of a run trained elsewhere (``train_reporting``), as this worker's own run's would come."""
        for kind, item in reports:
            if kind == "log":
                self._log(str(item))
            elif kind == "progress":
                if item.kind == "eval" and item.snapshot is not None:
                    remote.replay.add(item.snapshot)  # as the remote Trainer recorded it before reporting it
                self._on_progress(item)

    def _log(self, line: str) -> None:
        with self._lock:
            self._log_locked(line)

    def _log_locked(self, line: str) -> None:
        log = [*self._state.log, line][-self.max_log_lines :]
        self._state = replace(self._state, log=log)

    @staticmethod
    def _info(state: TrainingState) -> dict:
        return {
            "status": state.status,
            "started_at": state.started_at,
            "finished_at": state.finished_at,
            "corpus": state.corpus,
            "stop_reason": state.stop_reason,
            "error": state.error,
            "test": state.test_metrics and {k: state.test_metrics.get(k) for k in ("exact_match", "correct", "total")},
            "config": state.config.to_dict() if state.config else None,
        }


@atexit.register  # after multiprocessing.util registered its hook (imported above): exit hooks run last first
def shutdown_all() -> None:
    """Stop and join every worker (each run saves its best model and writes its status): when the server shuts down,
    and again at exit, before the interpreter tears down torch and multiprocessing terminates the child processes."""
    for worker in list(_WORKERS):
        with contextlib.suppress(Exception):  # at exit, nothing is left to report to
            worker.shutdown(timeout=60.0)
