"""The server's training slots and what feeds them: a ``TrainingPool`` holds one worker per slot and, about every
second, takes queued runs from the shared ``TrainingQueue`` onto the free ones.

Each round (``dispatch``) records how the runs that ended went, beats the heartbeat of the runs going on (stopping
those whose owners pressed Stop, on whichever server), marks "interrupted" the runs whose server is gone, then claims
queued runs for the free slots. A Start calls a round at once, so a run starts without waiting for the next tick.

How many runs train at once is a server setting, ``SEQ2SEQ_TRAIN_SLOTS``. Each run trains on one core, in a child
process of the server (one intra-op thread, ``ProcessWorker``), and the answers on Try it need a core of their own to
stay fast, so the default keeps half the cores for them: ``cores // 2``, at least one (one on a two-core machine).
With ``SEQ2SEQ_RAY_ADDRESS`` set
the slots train on a Ray cluster instead (``seq2seq.app.ray_dispatch``), and the default, and the most, is what the
cluster's CPUs allow.
"""

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..data import RunData
from ..errors import one_line
from .database import DatabaseUnavailable, database_path
from .process_worker import ProcessWorker
from .runs import runs_root
from .training_queue import Entry, EntryStatus, TrainingQueue, process_claimer
from .worker import TrainingState, TrainingWorker

SLOTS_ENV = "SEQ2SEQ_TRAIN_SLOTS"
RAY_ENV = "SEQ2SEQ_RAY_ADDRESS"
MAX_SLOTS = 64
POLL_S = 1.0

logger = logging.getLogger(__name__)


def machine_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def train_slots(default: int | None = None) -> int:
    """``SEQ2SEQ_TRAIN_SLOTS``, or ``default`` (half this machine's cores, at least one) when it is unset. A value
    that is not a whole number from 1 to ``MAX_SLOTS`` is logged and the default used: a bad setting never stops
    the server."""
    fallback = default if default is not None else max(1, machine_cores() // 2)
    value = os.environ.get(SLOTS_ENV, "").strip()
    if not value:
        return fallback
    if not value.isdigit() or not 1 <= int(value) <= MAX_SLOTS:
        logger.warning(
            "%s must be a whole number from 1 to %d, not %r: using %d", SLOTS_ENV, MAX_SLOTS, value, fallback
        )
        return fallback
    return int(value)


def ended_status(state: TrainingState) -> EntryStatus:
    """A queue row's status for a worker's run that ended: cut off by the server stopping is "interrupted" (it may be
    started again), a failure "failed", any other end "finished"."""
    if state.status == "failed":
        return "failed"
    return "interrupted" if state.stop_reason == "server_stopped" else "finished"


class TrainingPool:
    """``slots`` workers fed from ``queue``. ``corpus_for`` gives a ready corpus for a config when the server has one
    (the default corpus, made once), else None: the worker then makes it. ``poll_s`` None: no background rounds
    (tests call ``dispatch``)."""

    def __init__(
        self,
        queue: TrainingQueue | None = None,
        slots: int = 1,
        corpus_for: Callable[[Config], RunData | None] = lambda config: None,
        make_worker: Callable[[], TrainingWorker] = TrainingWorker,
        poll_s: float | None = POLL_S,
    ) -> None:
        self.queue = queue or TrainingQueue()
        self.corpus_for = corpus_for
        self.claimer = process_claimer()
        self.workers = [make_worker() for _ in range(slots)]
        self._entries: dict[int, Entry] = {}  # slot: the queue row its worker trains
        self._lock = threading.Lock()  # one round at a time in this process
        self._problem: str | None = None  # why the last background round could not use the database (logged once)
        self._closed = threading.Event()
        self._thread = None
        if poll_s is not None:
            self._thread = threading.Thread(target=self._loop, args=(poll_s,), name="seq2seq-dispatch", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------------------------------------- a session
    def submit(self, owner: str, config: Config, corpus: str, corpus_text: bytes | None = None) -> Entry:
        """Queue ``owner``'s run and start it at once when a slot is free; the row as it stands after that round.
        Raises QueueRefused or DatabaseUnavailable."""
        entry = self.queue.enqueue(owner, config, corpus, corpus_text)
        self.dispatch()
        return self.queue.latest(owner) or entry

    def stop(self, owner: str) -> bool:
        """Stop the run ``owner``'s page shows (``view``): its own, or else the one this server shows, as anyone may;
        or its own run training on another server, at that server's next round. False when none of them is going
        on."""
        mine = self.queue.latest(owner)
        with self._lock:
            shown = self.view(mine, max_points=0)
            target = next(
                (
                    entry.id
                    for slot, entry in self._entries.items()
                    if shown.active and self.workers[slot].state(0).run_id == shown.run_id
                ),
                mine.id if mine is not None and mine.status == "running" else None,
            )
            if target is None or not self.queue.request_stop(target):
                return False
            for slot, entry in self._entries.items():
                if entry.id == target:
                    self.workers[slot].stop()
        return True

    def state(self, max_points: int = 0) -> TrainingState:
        """The run this server started last (going on or ended), as every session's live view and sidebar show it
        when their own run is not on this server."""
        return max((worker.state(max_points) for worker in self.workers), key=lambda state: state.run_id)

    def live_run_dirs(self) -> list[Path]:
        """The folders this server's workers train into now, which no one may pick, open or delete."""
        return [state.run_dir for state in (worker.state(0) for worker in self.workers) if state.live_run_dir]

    def view(self, entry: Entry | None, max_points: int = 300) -> TrainingState:
        """What a session's live view shows: its own run ``entry`` when one of this server's workers trains (or
        trained) it, else ``state()``."""
        if entry is not None and entry.run_dir is not None:
            for worker in self.workers:
                state = worker.state(max_points)
                if state.run_dir == entry.run_dir:
                    return state
        return self.state(max_points)

    # ------------------------------------------------------------------------------------------------- the rounds
    def dispatch(self) -> None:
        """One round (see the module's docstring). Raises DatabaseUnavailable; the workers go on meanwhile."""
        with self._lock:
            self._record_ended()
            if self._entries:
                progress = {entry.id: self.workers[slot].state(0).fraction for slot, entry in self._entries.items()}
                stops = self.queue.heartbeat(self.claimer, progress)
                for slot, entry in self._entries.items():
                    if entry.id in stops and self.workers[slot].state(0).status != "stopping":
                        self.workers[slot].stop()  # asked on another server (here, it stopped at once)
            self.queue.reap()
            for slot, worker in enumerate(self.workers):
                if slot in self._entries or worker.busy:
                    continue
                claimed = self.queue.claim(self.claimer)
                if claimed is None:
                    break
                self._start(slot, *claimed)

    def _record_ended(self) -> None:
        for slot, entry in list(self._entries.items()):
            state = self.workers[slot].state(0)
            if not state.active:
                self.queue.end(entry.id, ended_status(state), state.error)
                del self._entries[slot]

    def _start(self, slot: int, entry: Entry, corpus_text: bytes | None) -> None:
        try:
            data = None if corpus_text is not None else self.corpus_for(entry.config)
            state = self.workers[slot].start(
                entry.config, runs_root(), data, corpus=entry.corpus, corpus_text=corpus_text
            )
        except (OSError, ValueError) as problem:  # an unwritable runs folder; settings that cannot train
            message = one_line(problem)
            self.queue.end(entry.id, "failed", f"the run could not start: {message}")
            return
        self._entries[slot] = entry
        self.queue.started(entry.id, state.run_dir)

    def _loop(self, poll_s: float) -> None:
        while not self._closed.wait(poll_s):
            if not self._entries and not self.queue.exists():
                continue  # nothing was ever queued in this runs folder: no database to make
            try:
                self.dispatch()
                self._problem = None
            except DatabaseUnavailable as problem:
                if str(problem) != self._problem:
                    logger.warning("the training queue cannot be used now: %s", problem)
                self._problem = str(problem)
            except Exception:  # a round that fails is logged; the next one tries again
                logger.exception("a dispatch round failed")

    def close(self, timeout: float = 60.0) -> None:
        """Stop the rounds, then every run going on (as the server stopping), and record how they ended."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for worker in self.workers:
            worker.shutdown(timeout)
        try:
            with self._lock:
                self._record_ended()
        except DatabaseUnavailable as problem:
            logger.warning("could not record the runs' ends in the queue: %s", problem)


def server_pool(corpus_for: Callable[[Config], RunData | None]) -> TrainingPool:
    """The pool a server runs: with ``SEQ2SEQ_RAY_ADDRESS`` set, Ray installed and its cluster reachable, slots that
    train on the cluster (as many as its CPUs, or GPUs, unless ``SEQ2SEQ_TRAIN_SLOTS`` says fewer); else
    ``train_slots()`` workers training on this machine, each run in a child process. Its queue is the database of the
    runs folder the server has now, for good: its rounds never follow a later change of ``SEQ2SEQ_RUNS_DIR`` into
    another folder's queue."""
    queue = TrainingQueue(database_path())
    address = os.environ.get(RAY_ENV, "").strip()
    if address:
        from .ray_dispatch import ray_workers  # imports Ray only when asked to

        cluster = ray_workers(address)
        if cluster is not None:
            make_worker, slots = cluster
            # Each slot's actor holds one CPU (or GPU) of the cluster: a slot beyond them would wait for ever.
            return TrainingPool(
                queue, slots=min(train_slots(slots), slots), corpus_for=corpus_for, make_worker=make_worker
            )
    return TrainingPool(queue, slots=train_slots(), corpus_for=corpus_for, make_worker=ProcessWorker)
