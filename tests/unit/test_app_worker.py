"""The background training worker: one run at a time, its own folder, live progress, stop, failures, clean exit."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq.app.process_worker import ProcessWorker
from seq2seq.app.runs import list_runs
from seq2seq.app.views import status_text
from seq2seq.app.worker import TrainingBusy, TrainingWorker, downsample
from seq2seq.checkpoint import load_checkpoint
from seq2seq.corpus import Splits
from seq2seq.data import RunData, load_run_data
from seq2seq.vocab import Vocabulary
from tests.conftest import tiny_config
from tests.processes import worker_program

REPO = Path(__file__).resolve().parents[2]


def small_config(tiny_corpus, **changes):
    values = dict(
        train_file=tiny_corpus.name, embedding_size=8, hidden_size=16, attention_size=16, epochs=2, valid_size=30
    )
    values.update(test_size=30, **changes)
    return tiny_config(**values)


def test_downsample_keeps_ends_and_limit():
    points = list(range(1000))
    picked = downsample(points, 50)
    assert len(picked) <= 50 and picked[0] == 0 and picked[-1] == 999
    assert picked == sorted(picked)
    assert downsample(points[:10], 50) == points[:10]
    assert downsample(points, 0) == []


def test_a_run_lands_in_its_own_folder_with_progress(tmp_path, tiny_corpus):
    config = small_config(tiny_corpus)
    worker = TrainingWorker(report_every=1)
    started = worker.start(config, tmp_path / "runs", load_run_data(config, tiny_corpus), corpus="tiny.txt")
    assert started.active and started.run_dir.parent == tmp_path / "runs"
    with pytest.raises(TrainingBusy, match="already in progress"):
        worker.start(config, tmp_path / "runs", load_run_data(config, tiny_corpus))
    assert worker.wait(60)
    state = worker.state()
    assert state.status == "finished" and state.stop_reason == "epochs" and state.fraction == 1.0
    assert state.step == state.total_steps > 0
    assert len(state.history) == 2 and state.batches and state.snapshot and state.snapshot_count == 2
    assert any(line.startswith("epoch 2") for line in state.log) and state.log[-1].startswith("done")
    assert state.test_metrics and state.test_metrics["total"] == 30
    assert sorted(p.name for p in state.run_dir.iterdir()) == ["history.csv", "model.pt", "run.json"]
    info = json.loads((state.run_dir / "run.json").read_text())
    assert info["status"] == "finished" and info["corpus"] == "tiny.txt" and info["test"]["total"] == 30
    assert load_checkpoint(state.checkpoint_path).metrics["test"]["total"] == 30
    # A second run goes into a new folder and never touches the first.
    first = state.checkpoint_path.read_bytes()
    second = worker.start(config, tmp_path / "runs", load_run_data(config, tiny_corpus))
    assert worker.wait(60) and second.run_dir != state.run_dir and second.run_id == state.run_id + 1
    assert state.checkpoint_path.read_bytes() == first


def test_stop_keeps_a_loadable_best_model(tmp_path, tiny_corpus):
    config = small_config(tiny_corpus, epochs=500)
    worker = TrainingWorker(report_every=1)
    worker.start(config, tmp_path, load_run_data(config, tiny_corpus))
    assert worker.stop()
    assert worker.state().status == "stopping"
    assert worker.wait(60)
    state = worker.state()
    assert state.status == "finished" and state.stop_reason == "stopped"
    assert load_checkpoint(state.checkpoint_path).metrics["test"]["total"] == 30
    assert not worker.stop()  # nothing runs any more


def test_a_run_cut_off_by_the_server_stopping_is_not_called_stopped_by_a_user(tmp_path, tiny_corpus):
    config = small_config(tiny_corpus, epochs=500)
    worker = TrainingWorker(report_every=1)
    worker.start(config, tmp_path, load_run_data(config, tiny_corpus))
    worker.shutdown(timeout=60)
    state = worker.state()
    assert state.status == "finished" and state.stop_reason == "server_stopped"
    assert status_text(state.status, state.stop_reason) == "finished (stopped when the server stopped)"
    (run,) = list_runs(tmp_path)
    assert run.stop_reason == "server_stopped"  # as its run.json tells the Runs page
    worker.start(config, tmp_path, load_run_data(config, tiny_corpus))  # a user's Stop, then the server stops
    worker.stop()
    worker.shutdown(timeout=60)
    assert worker.state().stop_reason == "stopped"


def test_builtin_corpus_is_generated_on_the_worker_thread(tmp_path):
    config = tiny_config(corpus_size=60, max_length=3, valid_size=10, test_size=10, epochs=1, hidden_size=8)
    worker = TrainingWorker()
    worker.start(config.replace(embedding_size=8, attention_size=8), tmp_path)
    assert worker.wait(60)
    state = worker.state()
    assert state.status == "finished", state.error
    assert state.log[0] == "generating the built-in corpus" and "60 train / 10 valid / 10 test" in state.data_summary


@pytest.mark.parametrize("make_worker", [TrainingWorker, ProcessWorker], ids=["thread", "child process"])
def test_a_failing_run_reports_one_line_and_frees_the_worker(tmp_path, make_worker):
    empty = RunData(Splits([], [["a"]], [["a"]]), Vocabulary.build([["a"]]), {})
    worker = make_worker()
    worker.start(tiny_config(), tmp_path, empty)
    assert worker.wait(120)
    state = worker.state()
    assert state.status == "failed" and "no training sentences" in state.error and "\n" not in state.error
    assert json.loads((state.run_dir / "run.json").read_text())["status"] == "failed"
    assert not worker.busy


def test_uploaded_corpus_is_kept_in_the_run_folder(tmp_path, tiny_corpus):
    config = small_config(tiny_corpus, epochs=1)
    worker = TrainingWorker()
    data = tiny_corpus.read_bytes()
    worker.start(config, tmp_path, load_run_data(config, tiny_corpus), corpus="tiny.txt", corpus_text=data)
    assert worker.wait(60)
    assert (worker.state().run_dir / "corpus.txt").read_bytes() == data


def test_bad_settings_are_refused_before_anything_starts(tmp_path):
    worker = TrainingWorker()
    config = tiny_config()
    config.lr = float("nan")  # bypasses __post_init__, as a widget could
    with pytest.raises(ValueError, match="lr"):
        worker.start(config, tmp_path)
    assert worker.state().status == "idle" and not list(tmp_path.iterdir())


@pytest.mark.parametrize("worker", ["worker.TrainingWorker", "process_worker.ProcessWorker"])
def test_interpreter_exit_during_a_run_stops_it_as_the_server_stopping(tmp_path, tiny_corpus, worker):
    """A daemon thread still in torch at exit aborts the process (status 134), and multiprocessing terminates the
    children still there; the workers' atexit hook stops and joins their runs first."""
    script = worker_program(worker, tmp_path, tiny_corpus, "state.batches", 'print("exiting mid-run", flush=True)')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exiting mid-run" in done.stdout
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "run.json").read_text())["stop_reason"] == "server_stopped"
    load_checkpoint(run_dir / "model.pt")


def test_an_unwritable_runs_folder_is_an_error_and_leaves_the_worker_free(tmp_path, monkeypatch):
    import seq2seq.app.worker as worker_module

    def refuse(run_dir, info):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(worker_module, "write_run_info", refuse)
    worker = TrainingWorker()
    with pytest.raises(OSError, match="Permission denied"):
        worker.start(tiny_config(), tmp_path)
    assert worker.state().status == "idle" and not worker.busy and not list(tmp_path.iterdir())
