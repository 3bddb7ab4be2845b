"""A run trained in a child process: it reports, saves and stops as a run on a thread does, a failure in it is one
line, and a child killed mid-run fails its run with one line while the queue goes on."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seq2seq.app.dispatch import TrainingPool
from seq2seq.app.process_worker import (
    CHILDREN,
    TRAINING_NICE,
    ProcessWorker,
    exit_text,
    start_fork_server,
    start_method,
)
from seq2seq.app.runs import RUNS_ENV
from seq2seq.app.training_queue import TrainingQueue
from seq2seq.checkpoint import load_checkpoint
from seq2seq.data import load_run_data
from tests.conftest import quick_config
from tests.processes import worker_program

REPO = Path(__file__).resolve().parents[2]
CHILD = re.compile(r"^training in process (\d+), a child of the server, at nice (\d+)$")


def child_line(worker: ProcessWorker, timeout: float = 60.0) -> re.Match:
    """The line the process training the worker's run sends first: its id and its niceness."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in map(CHILD.match, worker.state().log) if m]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no child reported: {worker.state().log}")


def child_pid(worker: ProcessWorker, timeout: float = 60.0) -> int:
    """The process training the worker's run."""
    return int(child_line(worker, timeout).group(1))


def test_a_run_trains_in_a_child_process_and_reports_as_on_a_thread(tmp_path, tiny_corpus):
    config = quick_config(2)
    worker = ProcessWorker(report_every=1)
    worker.start(config, tmp_path, load_run_data(config, tiny_corpus), corpus="tiny.txt")
    line = child_line(worker)
    assert int(line.group(1)) != os.getpid()
    # It trains at a lower CPU priority than the server, whose answers come first where the cores are busy.
    assert int(line.group(2)) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + TRAINING_NICE)
    assert worker.wait(120)
    state = worker.state()
    assert state.status == "finished" and state.stop_reason == "epochs" and state.fraction == 1.0, state.error
    assert state.step == state.total_steps > 0 and state.batches and len(state.history) == 2
    assert state.snapshot and state.snapshot_count == 2 and state.replay  # the moments its checkpoint keeps
    assert any(line.startswith("epoch 2") for line in state.log) and state.log[-1].startswith("done")
    assert state.test_metrics["total"] == 30
    assert json.loads((state.run_dir / "run.json").read_text())["status"] == "finished"
    saved = load_checkpoint(state.checkpoint_path)
    assert saved.metrics["test"]["total"] == 30 and len(saved.history) == 2


def test_stop_and_the_server_stopping_reach_the_child_which_keeps_its_best_model(tmp_path, tiny_corpus):
    config = quick_config(500)
    worker = ProcessWorker(report_every=1)
    worker.start(config, tmp_path, load_run_data(config, tiny_corpus))
    child_pid(worker)
    worker.shutdown(timeout=120)
    state = worker.state()
    assert state.status == "finished" and state.stop_reason == "server_stopped", state.error
    load_checkpoint(state.checkpoint_path)
    worker.start(config, tmp_path, load_run_data(config, tiny_corpus))
    assert worker.stop()  # asked before the child began: it stops at its first report
    assert worker.wait(120) and worker.state().stop_reason == "stopped"


def test_a_child_killed_mid_run_fails_its_run_with_one_line_and_the_queue_goes_on(tmp_path, monkeypatch, tiny_corpus):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    pool = TrainingPool(
        TrainingQueue(tmp_path / "runs" / "app.sqlite3"),
        corpus_for=lambda config: load_run_data(config, tiny_corpus),
        make_worker=lambda: ProcessWorker(report_every=1),
        poll_s=None,
    )
    pool.submit("killed", quick_config(500), "tiny.txt")
    assert pool.submit("next", quick_config(1), "tiny.txt").status == "queued"
    (worker,) = pool.workers
    os.kill(child_pid(worker), signal.SIGKILL)
    assert worker.wait(60)
    assert worker.state().error == "the process training this run was lost (killed by SIGKILL)"
    pool.dispatch()  # the failure recorded, the next run claimed
    assert pool.queue.latest("killed").status == "failed"
    assert pool.queue.latest("next").status == "running"
    assert worker.wait(120)
    pool.dispatch()
    assert pool.queue.latest("next").status == "finished"
    pool.close()


def test_how_a_child_ended_in_words():
    assert exit_text(-9) == "killed by SIGKILL" and exit_text(1) == "exit status 1"


def test_a_child_whose_server_is_killed_stops_its_run_and_keeps_its_best_model(tmp_path, tiny_corpus):
    said_pid = f"print(next(m.group(1) for m in map(re.compile({CHILD.pattern!r}).match, state.log) if m), flush=True)"
    then = f"{said_pid}\nos.kill(os.getpid(), signal.SIGKILL)\n"
    script = worker_program("process_worker.ProcessWorker", tmp_path, tiny_corpus, "state.history", then)
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    with server.stdout:
        pid = int(server.stdout.readline())
    assert server.wait(timeout=120) == -signal.SIGKILL
    child = Path(f"/proc/{pid}/status")
    try:
        deadline = time.monotonic() + 120
        while child.exists() and "zombie" not in child.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not child.exists() or "zombie" in child.read_text(), "the child trains on without its server"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # none left training, whatever the test found
    (run_dir,) = tmp_path.iterdir()
    assert load_checkpoint(run_dir / "model.pt").metrics["test"]["total"] == 30  # stopped, saved and scored


@pytest.mark.skipif(start_method() != "forkserver", reason="no fork server on this platform: each child is spawned")
def test_children_are_forked_from_a_server_that_imported_torch_and_the_training_code_once():
    start_fork_server()
    with CHILDREN.Pool(1) as children:  # eval: a builtin, so the child imports nothing to unpickle it
        imported = children.apply(eval, ("[m in __import__('sys').modules for m in ('torch', 'torch._dynamo')]",))
        parent = children.apply(os.getppid)
    assert imported == [True, True] and parent != os.getpid()  # forked ready, by the fork server
