"""Helpers for the tests that run real processes: a tiny ``python -m seq2seq train`` started in the background, a
server-like program whose worker trains a tiny endless run, a wait for a file to appear or go, and the id of a
process that has ended."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY_TRAIN = [
    "--epochs", "500", "--evals-per-epoch", "8", "--hidden-size", "16", "--embedding-size", "8",
    "--attention-size", "8", "--valid-size", "20", "--test-size", "20", "--batch-size", "16", "--device", "cpu",
]  # fmt: skip


def start_training(corpus: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "seq2seq", "train", "--train-file", str(corpus), "--out", str(out), *TINY_TRAIN,
               *extra]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def worker_program(worker: str, runs: Path, corpus: Path, until: str, then: str) -> str:
    """A Python program (for ``python -c``) in which a ``worker`` of ``seq2seq.app`` ("worker.TrainingWorker") trains
    a tiny endless run in ``runs`` until ``until``, an expression on ``state`` (the worker's state), holds; then it
    runs ``then``, as a server stopping or killed there would."""
    module, name = worker.rsplit(".", 1)
    program = f"""
        import os, re, signal, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from seq2seq.data import load_run_data
        from seq2seq.app.{module} import {name}
        from tests.conftest import quick_config
        config = quick_config(1000)
        worker = {name}(report_every=1)
        worker.start(config, {str(runs)!r}, load_run_data(config, {str(corpus)!r}))
        state = worker.state()
        while not ({until}):
            time.sleep(0.05)
            state = worker.state()
        """
    return textwrap.dedent(program) + textwrap.dedent(then)


def wait_for(path: Path, timeout: float = 60.0, gone: bool = False) -> None:
    deadline = time.monotonic() + timeout
    while path.exists() == gone:
        assert time.monotonic() < deadline, f"{path} never {'went' if gone else 'appeared'}"
        time.sleep(0.05)


def dead_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(process.stdout)
