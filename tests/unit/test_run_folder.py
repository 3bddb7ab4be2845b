"""The run folder around the training loop: its lock, history.csv, the best model with its test scores, the stale
temporary files a killed run left, stopping from another thread, and the progress a run reports."""

from pathlib import Path

import pytest
import torch

from seq2seq.checkpoint import load_checkpoint
from seq2seq.data import load_run_data
from seq2seq.fileio import FolderBusyError, FolderLock
from seq2seq.records import HISTORY_COLUMNS
from seq2seq.run_folder import Trainer
from tests.conftest import tiny_config


def test_stop_keeps_a_loadable_checkpoint(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=50)
    seen = []

    def callback(progress):
        seen.append(progress.kind)
        if progress.kind == "batch" and progress.step >= 15:
            trainer.stop()

    trainer = Trainer(
        config, load_run_data(config, tiny_corpus), tmp_path, callback, report_every=5, log=lambda s: None
    )
    result = trainer.run()
    assert result.stop_reason == "stopped"
    assert seen[-1] == "end" and "batch" in seen
    assert load_checkpoint(tmp_path / "model.pt").history


def test_training_refuses_an_empty_training_split(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name)
    data = load_run_data(config, tiny_corpus, valid_file=tiny_corpus)
    with pytest.raises(ValueError, match="no training sentences"):
        Trainer(config, data, tmp_path)


def test_a_run_writes_only_inside_its_run_folder(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=1, evals_per_epoch=2)
    before = set(Path.cwd().iterdir())
    Trainer(config, load_run_data(config, tiny_corpus), tmp_path / "run", log=lambda s: None).run()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["history.csv", "model.pt"]
    assert set(Path.cwd().iterdir()) == before


def test_progress_carries_snapshots_and_the_stop_reason(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=1, evals_per_epoch=2)
    seen = []
    result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path, seen.append, log=lambda s: None).run()
    evals = [p for p in seen if p.kind == "eval"]
    assert len(evals) == 2 and all(p.snapshot["examples"] for p in evals)
    assert seen[-1].kind == "end" and seen[-1].stop_reason == "epochs" == result.stop_reason
    assert result.test.total == 60


def test_a_run_folder_that_is_locked_is_refused_and_left_untouched(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=1)
    with FolderLock(tmp_path), pytest.raises(FolderBusyError, match="is training into it"):
        Trainer(config, load_run_data(config, tiny_corpus), tmp_path, log=lambda s: None).run()
    assert list(tmp_path.iterdir()) == []


def test_a_run_over_an_earlier_model_never_stamps_its_results_on_the_old_one(tmp_path, tiny_corpus, tiny_checkpoint,
                                                                           monkeypatch):  # fmt: skip
    (tmp_path / "model.pt").write_bytes(tiny_checkpoint.read_bytes())  # hidden size 32, with a history
    (tmp_path / "history.csv").write_text("earlier history\n")
    monkeypatch.setattr("seq2seq.train.masked_loss", lambda *args: (torch.tensor(float("nan")), 1))
    config = tiny_config(train_file=tiny_corpus.name, epochs=1, hidden_size=16)
    result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path, log=lambda s: None).run()
    assert result.stop_reason == "diverged"  # before any validation
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert checkpoint.config.hidden_size == 16 and checkpoint.history == []
    assert (tmp_path / "history.csv").read_text() == ",".join(HISTORY_COLUMNS) + "\n"


def test_a_new_run_sweeps_the_temporary_files_a_killed_one_left(tmp_path, tiny_corpus):
    from tests.processes import dead_pid

    gone = dead_pid()  # the process that was writing them was killed
    stale = [tmp_path / f".{name}.seq2seq-{gone}-0123abcd.tmp" for name in ("model.pt", "history.csv")]
    for path in stale:
        path.write_bytes(b"half a file")
    keep = [tmp_path / "notes.tmp", tmp_path / ".notes.tmp"]  # not ours, hidden or not
    for path in keep:
        path.write_text("mine")
    config = tiny_config(train_file=tiny_corpus.name, epochs=1)
    Trainer(config, load_run_data(config, tiny_corpus), tmp_path, log=lambda s: None).run()
    assert not any(path.exists() for path in stale)
    assert all(path.read_text() == "mine" for path in keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.tmp", "history.csv", "model.pt", "notes.tmp"]


def test_a_run_folder_is_made_with_its_missing_parents(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=1)
    out = tmp_path / "runs" / "new" / "run"
    Trainer(config, load_run_data(config, tiny_corpus), out, log=lambda s: None).run()
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "model.pt"]


def test_the_test_scores_a_model_without_attention_stores_hold_no_alignment(shipped):
    """An encoder-decoder's weights only pick its fixed context: the scores its run stores say nothing of alignment
    (they once held "100% of peaks on <eos>"), as ``evaluate --json`` says nothing of it."""
    stored = load_checkpoint(shipped.parent / "encdec" / "model.pt").metrics["test"]
    assert stored["alignment"] is None
    assert load_checkpoint(shipped).metrics["test"]["alignment"]["mirror_peak_rate"] > 0
