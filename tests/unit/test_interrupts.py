"""Interrupted training, for real: a `python -m seq2seq train` process killed or stopped at arbitrary moments."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seq2seq.checkpoint import load_checkpoint
from seq2seq.cli import main
from seq2seq.data import load_run_data
from seq2seq.fileio import FolderBusyError
from seq2seq.run_folder import Trainer
from tests.conftest import tiny_config
from tests.processes import TINY_TRAIN, start_training, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_at_any_moment_leaves_the_best_checkpoint_loadable(tmp_path, tiny_corpus):
    out = tmp_path / "run"
    rng = random.Random(0)
    for attempt in range(5):
        process = start_training(tiny_corpus, out, "--overwrite")
        wait_for(out / "model.pt")
        time.sleep(rng.uniform(0.0, 1.5))  # checkpoints are written many times a second here: kills land mid-write too
        process.kill()
        process.wait()
        checkpoint = load_checkpoint(out / "model.pt")  # loads, whatever the moment of the kill
        assert checkpoint.history, f"attempt {attempt}: the checkpoint lost its history"
    # A new run in the same folder clears the temporary files killed writes left behind, and nothing else.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".model.pt.seq2seq-{int(dead.stdout)}-0123abcd.tmp"
    stale.write_bytes(b"half a checkpoint")
    notes = out / ".notes.tmp"
    notes.write_text("the user's own")
    process = start_training(tiny_corpus, out, "--overwrite")
    wait_for(stale, gone=True)
    process.kill()
    process.wait()
    assert notes.read_text() == "the user's own"
    assert not [p.name for p in out.glob(".*.tmp") if ".seq2seq-" in p.name and str(process.pid) not in p.name]
    assert load_checkpoint(out / "model.pt").history


def test_a_folder_being_trained_into_is_refused_until_its_process_dies(tmp_path, tiny_corpus, capsys):
    out = tmp_path / "run"
    process = start_training(tiny_corpus, out)
    try:
        wait_for(out / "model.pt")
        quick = ["--train-file", str(tiny_corpus), "--out", str(out), "--overwrite", *TINY_TRAIN[2:], "--epochs", "1"]
        assert main(["train", *quick]) == 2
        err = capsys.readouterr().err
        assert f"{out} is in use: process {process.pid} is training into it" in err and len(err.splitlines()) == 1
        config = tiny_config(train_file=tiny_corpus.name, epochs=1)
        with pytest.raises(FolderBusyError):  # the app's trainer is kept out too
            Trainer(config, load_run_data(config, tiny_corpus), out, log=lambda s: None).run()
        assert process.poll() is None  # and the run going on was not disturbed
    finally:
        process.kill()
        process.wait()
    assert main(["train", *quick]) == 0  # the lock died with the process
    assert f"best model: {out / 'model.pt'}" in capsys.readouterr().out


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
