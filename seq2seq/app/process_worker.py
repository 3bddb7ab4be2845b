"""Training a run in a child process: the training slot the server uses when it trains on this machine.

A run trained on a thread of the server holds the interpreter lock for most of every batch that is not inside a torch
kernel, and every session's script waits for it. A ``ProcessWorker`` is a ``TrainingWorker`` whose run trains in a
child process, one torch thread, into the run folder itself: the child runs ``train_reporting`` and sends its
progress reports and log lines back through a queue, which the worker's thread takes in as a run on a thread reports;
Stop sets an event that the child reads at each report; how the run ended comes back at its end. The run folder,
``run.json`` and the live view stay the worker's as for a run on a thread. The child trains at a lower CPU priority
than the server (``TRAINING_NICE``): where every core is busy, the answers to the sessions come first.

A child that dies without saying how its run ended (killed, out of memory) fails its run with one line, and the queue
goes on. A child whose server is gone stops its run at its next report, keeping its best model.

The children are forked from a fork server (``multiprocessing``'s "forkserver"), a small process started with the
first worker that has imported torch and the training code once: a run does not wait the seconds a fresh interpreter
takes to import them. A fork of the server itself would be unsafe (it is full of
threads); the fork server has none. Where there is no fork server (Windows), each child is a fresh interpreter
("spawn").
"""

import multiprocessing
import os
import queue
import signal
import threading
from multiprocessing import forkserver
from pathlib import Path

from ..config import Config
from ..data import RunData
from ..errors import one_line
from ..records import StopReason
from .worker import RemoteRun, TrainingWorker, train_reporting

POLL_S = 0.25  # how often the worker looks whether its child is still there while no report comes
# How much lower the child's CPU priority is than the server's (``os.nice``): where the cores are all busy, the
# server's answers to every session come first and the run takes what is left. On an idle core it trains as fast.
TRAINING_NICE = 10
# Imported once, by the fork server, for every child: torch._dynamo is what an optimizer's constructor imports.
PRELOAD = ["torch", "torch._dynamo", "seq2seq.app.process_worker"]


def start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


CHILDREN = multiprocessing.get_context(start_method())
_FORK_SERVER_STARTED = threading.Event()


def train_in_child(config: Config, data: RunData, run_dir: Path, reports, stopping, report_every: int) -> None:
    """The child process: train into ``run_dir``, each report put on ``reports``; then ``("ended", how)`` or
    ``("failed", one line)``. The run stops when ``stopping`` is set or the server is gone."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the server's terminal: the server stops the run
    torch.set_num_threads(1)  # the run holds one core; the server's answers need the other
    niceness = os.nice(TRAINING_NICE) if hasattr(os, "nice") else 0  # no os.nice on Windows
    server = multiprocessing.parent_process()

    def send(kind: str, item: object) -> bool:
        reports.put((kind, item))
        return stopping.is_set() or (server is not None and not server.is_alive())

    reports.put(("log", f"training in process {os.getpid()}, a child of the server, at nice {niceness}"))
    try:
        reports.put(("ended", train_reporting(config, data, run_dir, send, report_every)))
    except Exception as error:  # the worker reports it as a thread's failure would be
        reports.put(("failed", one_line(error)))


def start_fork_server() -> None:
    """Start the fork server now, with torch and the training code imported in it, so that the first run does not
    wait for them (it starts with the first worker; nothing to do where children are spawned)."""
    if CHILDREN.get_start_method() == "forkserver":
        CHILDREN.set_forkserver_preload(PRELOAD)
        forkserver.ensure_running()
        _FORK_SERVER_STARTED.set()


def wait_for_fork_server() -> None:
    """Wait until the fork server, if one was started, has imported what it preloads: it forks its first child only
    then. The server waits once, as it warms up, so that the import does not compete with its first pages."""
    if _FORK_SERVER_STARTED.is_set():
        child = CHILDREN.Process(target=os.getpid, daemon=True)
        child.start()
        child.join()


class ProcessWorker(TrainingWorker):
    """A training slot whose runs train in a child process; everything else is ``TrainingWorker``'s."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        start_fork_server()

    def _train(self, config: Config, data: RunData, run_dir: Path) -> tuple[StopReason, dict]:
        reports, stopping = CHILDREN.Queue(), CHILDREN.Event()
        child = CHILDREN.Process(
            target=train_in_child,
            args=(config, data, run_dir, reports, stopping, self.report_every),
            name=f"seq2seq-train-{run_dir.name}",
            daemon=True,  # never outlives the server's exit
        )
        child.start()
        remote = RemoteRun(stopping.set)
        self._training(remote)
        try:
            outcome = self._follow(child, reports, remote)
        finally:
            child.join(timeout=5.0)
            reports.close()
        if outcome[0] == "failed":
            raise RuntimeError(outcome[1])
        return outcome[1]["stop_reason"], outcome[1]["test"]

    def _follow(self, child, reports, remote: RemoteRun) -> tuple[str, object]:
        """Take the child's reports in until it says how its run ended; a child that dies first fails the run."""
        while True:
            try:
                kind, item = reports.get(timeout=POLL_S)
            except queue.Empty:
                if child.is_alive():
                    continue
                try:  # it may have ended just after its last put
                    kind, item = reports.get(timeout=POLL_S)
                except queue.Empty:
                    lost = f"the process training this run was lost ({exit_text(child.exitcode)})"
                    raise RuntimeError(lost) from None
            if kind in ("ended", "failed"):
                return kind, item
            self._take([(kind, item)], remote)


def exit_text(code: int | None) -> str:
    """How a child process ended, in words: ``-9`` -> "killed by SIGKILL"."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
