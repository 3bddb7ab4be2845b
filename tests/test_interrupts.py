"""Interrupted training, for real: a `python -m seq2seq train` process killed or stopped at arbitrary moments."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from seq2seq.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
TINY_TRAIN = [
    "--epochs", "500", "--evals-per-epoch", "8", "--hidden-size", "16", "--embedding-size", "8",
    "--attention-size", "8", "--valid-size", "20", "--test-size", "20", "--batch-size", "16", "--device", "cpu",
]  # fmt: skip


def start_training(corpus: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "seq2seq", "train", "--train-file", str(corpus), "--out", str(out), *TINY_TRAIN]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_sigkill_at_any_moment_leaves_the_best_checkpoint_loadable(tmp_path, tiny_corpus):
    out = tmp_path / "run"
    rng = random.Random(0)
    for attempt in range(5):
        process = start_training(tiny_corpus, out)
        wait_for(out / "model.pt")
        time.sleep(rng.uniform(0.0, 1.5))  # checkpoints are written many times a second here: kills land mid-write too
        process.kill()
        process.wait()
        checkpoint = load_checkpoint(out / "model.pt")  # loads, whatever the moment of the kill
        assert checkpoint.history, f"attempt {attempt}: the checkpoint lost its history"
    # A new run in the same folder clears temporary files that killed writes left behind.
    process = start_training(tiny_corpus, out)
    wait_for(out / "history.csv")
    process.kill()
    process.wait()
    assert load_checkpoint(out / "model.pt").history


def test_ctrl_c_stops_cleanly_and_says_where_the_best_model_is(tmp_path, tiny_corpus):
    out = tmp_path / "run"
    process = start_training(tiny_corpus, out)
    wait_for(out / "model.pt")
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "interrupted: stopping" in output and "done (stopped)" in output
    assert f"best model: {out / 'model.pt'}" in output
    assert "Traceback" not in output
    assert load_checkpoint(out / "model.pt").metrics["test"]["total"] == 20
