"""Run folders, the runs root, uploads and the ablation file."""

import json
import os

import pytest

from seq2seq.app import runs
from seq2seq.app.runs import (
    DEFAULT_RUNS_DIR,
    RUNS_ENV,
    ablation_path,
    delete_run,
    list_runs,
    load_ablation,
    runs_root,
    safe_corpus_name,
    upload_run_data,
    write_run_info,
)
from seq2seq.app.views import status_text
from seq2seq.checkpoint import load_checkpoint
from seq2seq.fileio import FolderLock
from seq2seq.paths import CHECKPOINT_ENV, DEFAULT_CHECKPOINT, default_checkpoint_path, new_run_dir
from seq2seq.tokenize import InputError, tokenize
from tests.conftest import tiny_config
from tests.processes import start_training, wait_for


def test_locations_default_and_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.delenv(RUNS_ENV, raising=False)
    assert default_checkpoint_path() == DEFAULT_CHECKPOINT and DEFAULT_CHECKPOINT.parts[-2:] == (
        "artifacts",
        "model.pt",
    )
    assert runs_root() == DEFAULT_RUNS_DIR and DEFAULT_RUNS_DIR.parts[-2:] == ("artifacts", "runs")
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "m.pt"))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "r"))
    assert default_checkpoint_path() == tmp_path / "m.pt"
    assert runs_root() == tmp_path / "r"
    assert ablation_path() == tmp_path / "ablation.json"


def test_new_run_dirs_are_new_and_distinct(tmp_path):
    first = new_run_dir(tmp_path / "runs", now=0)
    second = new_run_dir(tmp_path / "runs", now=0)
    assert first.is_dir() and second.is_dir() and first != second
    assert second.name == f"{first.name}-2"
    assert not any(first.iterdir())


def test_list_runs_reads_run_info_newest_first(tmp_path):
    old, new, bare = (tmp_path / name for name in ("20240101-000000", "20250101-000000", "20230101-000000"))
    old.mkdir()
    (old / "model.pt").write_bytes(b"x")  # the app saves the model, then records how the run ended
    write_run_info(old, {"status": "finished", "started_at": 1.0, "corpus": "a.txt", "test": {"exact_match": 0.5}})
    write_run_info(new, {"status": "running", "started_at": 2.0})
    bare.mkdir()
    os.utime(bare, (0.5, 0.5))  # no run.json: its folder's time counts
    (tmp_path / ".hidden").mkdir()
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == [new.name, old.name, bare.name]
    assert runs[0].status == "interrupted"  # says running, but the worker does not run it
    assert list_runs(tmp_path, live_run_dir=new)[0].status == "running"
    write_run_info(old, {"status": "preparing", "started_at": 1.0})  # two slots of one server, both training
    assert [r.status for r in list_runs(tmp_path, live_run_dir=[str(new), old])][:2] == ["running", "preparing"]
    write_run_info(old, {"status": "finished", "started_at": 1.0, "corpus": "a.txt", "test": {"exact_match": 0.5}})
    assert runs[1].status == "finished" and runs[1].test_exact_match == 0.5 and runs[1].has_model
    assert runs[1].corpus == "a.txt" and runs[1].started.startswith("1970-01-01")
    assert runs[2].status == "unknown" and not runs[2].has_model
    assert list_runs(tmp_path / "missing") == []


def test_a_command_line_run_is_described_from_its_checkpoint_not_as_unreadable(tmp_path, tiny_run):
    (tmp_path / "mine").mkdir()
    for file in ("model.pt", "history.csv"):
        (tmp_path / "mine" / file).write_bytes((tiny_run / file).read_bytes())
    (run,) = list_runs(tmp_path)
    stored = load_checkpoint(tiny_run / "model.pt").metrics["test"]["exact_match"]
    assert run.status == "cli" and run.test_exact_match == stored and run.ours
    assert status_text(run.status, run.stop_reason) == "trained from the command line"


def test_a_run_record_older_than_its_model_is_not_believed(tmp_path, tiny_run):
    """An app run whose model was replaced afterwards (its run.json left behind) is listed from the new checkpoint."""
    folder = tmp_path / "20250101-000000"
    folder.mkdir()
    (folder / "model.pt").write_bytes((tiny_run / "model.pt").read_bytes())
    record = {"status": "finished", "stop_reason": "epochs", "corpus": "a.txt", "test": {"exact_match": 0.25}}
    write_run_info(folder, record)
    assert list_runs(tmp_path)[0].test_exact_match == 0.25  # the record is newer: it describes this model
    later = (folder / "run.json").stat().st_mtime_ns + 10**9
    os.utime(folder / "model.pt", ns=(later, later))  # the model replaced after the record was written
    (run,) = list_runs(tmp_path)
    stored = load_checkpoint(folder / "model.pt").metrics["test"]["exact_match"]
    assert (run.status, run.stop_reason, run.corpus, run.test_exact_match) == ("cli", None, "", stored)
    assert run.ours and run.has_model
    assert list_runs(tmp_path, live_run_dir=folder)[0].test_exact_match == 0.25  # the live run's record is its own


def test_runs_from_the_app_and_the_command_line_are_listed_by_time_newest_first(tmp_path, tiny_checkpoint):
    """A command-line run's name ("mine") sorts above every timestamp: the time, not the name, orders the list."""
    app_old, app_new = tmp_path / "20250101-000000", tmp_path / "20250301-000000"
    write_run_info(app_old, {"status": "finished", "started_at": 1_735_689_600.0})  # 2025-01-01
    write_run_info(app_new, {"status": "finished", "started_at": 1_740_787_200.0})  # 2025-03-01
    cli = tmp_path / "mine"
    cli.mkdir()
    (cli / "model.pt").write_bytes(tiny_checkpoint.read_bytes())
    os.utime(cli, (1_738_368_000.0, 1_738_368_000.0))  # 2025-02-01
    assert [run.name for run in list_runs(tmp_path)] == [app_new.name, cli.name, app_old.name]
    os.utime(cli, (1_743_465_600.0, 1_743_465_600.0))  # 2025-04-01
    assert [run.name for run in list_runs(tmp_path)] == [cli.name, app_new.name, app_old.name]


def test_delete_run_removes_a_finished_run_and_nothing_else(tmp_path):
    runs = tmp_path / "runs"
    done, live, bare = (runs / name for name in ("20240101-000000", "20250101-000000", "20230101-000000"))
    write_run_info(done, {"status": "finished"})
    (done / "model.pt").write_bytes(b"x")
    write_run_info(live, {"status": "running"})
    bare.mkdir()  # not made by a run: no run.json
    (runs / ".deleting-20200101-000000-1" / "sub").mkdir(parents=True)  # left by a deletion that crashed
    outside = tmp_path / "keep"
    write_run_info(outside, {"status": "finished"})
    (runs / "link").symlink_to(outside, target_is_directory=True)
    refused = {
        live.name: "still going on",
        bare.name: "no run folder",
        "link": "no run folder",
        "../keep": "no run folder",
        "": "no run folder",
        "20990101-000000": "no run folder",
    }
    for name, message in refused.items():
        with pytest.raises(ValueError, match=message):
            delete_run(runs, name, live_run_dir=live)
    delete_run(runs, done.name, live_run_dir=live)
    assert sorted(p.name for p in runs.iterdir()) == sorted([live.name, bare.name, "link"])  # no hidden leftovers
    assert (outside / "run.json").is_file()
    delete_run(runs, live.name)  # once the worker no longer runs it, it is an interrupted run like any other
    assert not live.exists()


def test_safe_corpus_name_drops_folders():
    assert safe_corpus_name("../../etc/passwd") == "passwd"
    assert safe_corpus_name("C:\\Users\\me\\corpus.txt") == "corpus.txt"
    assert safe_corpus_name("") == "corpus.txt"
    assert len(safe_corpus_name("a" * 500)) == 100


def test_upload_run_data_splits_like_a_file(tiny_corpus):
    config = tiny_config()
    data = upload_run_data(config, tiny_corpus.read_bytes(), "x/tiny.txt")
    assert list(data.reports) == ["tiny.txt"]
    assert len(data.splits.valid) == len(data.splits.test) == 60
    held_out = {tuple(s) for s in data.splits.valid + data.splits.test}
    assert not held_out & {tuple(s) for s in data.splits.train}
    assert set(data.vocab.words) <= set(tokenize(tiny_corpus.read_text()))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x00\x01binary", "binary"), (b"one line\ntwo lines\n", "at least 30")],
)
def test_upload_run_data_refuses_unusable_files(content, message):
    with pytest.raises(InputError, match=message):
        upload_run_data(tiny_config(), content, "bad.txt")


def test_ablation_files(tmp_path):
    assert load_ablation(tmp_path / "none.json") == (None, None)
    (tmp_path / "bad.json").write_text("{not json")
    data, error = load_ablation(tmp_path / "bad.json")
    assert data is None and "bad.json" in error
    (tmp_path / "norows.json").write_text("[1, 2]")
    assert "rows" in load_ablation(tmp_path / "norows.json")[1]
    rows = [{"variant": "default", "test_mean": 0.99}, "junk"]
    (tmp_path / "ok.json").write_text(json.dumps({"seeds": 3, "rows": rows}))
    assert load_ablation(tmp_path / "ok.json") == ({"seeds": 3, "rows": rows}, None)


def test_a_command_line_run_is_ours_when_it_holds_a_valid_checkpoint_and_only_our_files(tmp_path, tiny_run):
    for name in ("mine", "extra", "fake", "linked-target"):
        (tmp_path / name).mkdir()
    for folder in ("mine", "extra", "linked-target"):
        for file in ("model.pt", "history.csv"):
            (tmp_path / folder / file).write_bytes((tiny_run / file).read_bytes())
    (tmp_path / "mine" / ".model.pt.abc.tmp").write_bytes(b"left by a killed write")
    (tmp_path / "extra" / "thesis.tex").write_text("not ours")
    (tmp_path / "fake" / "model.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "link").symlink_to(tmp_path / "linked-target")
    runs = {run.name: run for run in list_runs(tmp_path)}
    assert {name for name, run in runs.items() if run.ours} == {"mine", "linked-target"}
    assert runs["mine"].test_exact_match is not None and runs["fake"].test_exact_match is None
    for name in ("extra", "fake", "link"):
        with pytest.raises(ValueError, match="no run folder"):
            delete_run(tmp_path, name)
    delete_run(tmp_path, "mine")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extra", "fake", "link", "linked-target"]


def test_a_run_the_command_line_is_training_is_shown_as_such_and_cannot_be_deleted_until_it_ends(tmp_path, tiny_corpus):
    process = start_training(tiny_corpus, tmp_path / "mine")
    try:
        wait_for(tmp_path / "mine" / "model.pt")
        (run,) = list_runs(tmp_path)
        assert (
            run.status == "elsewhere" and status_text(run.status) == "training from the command line or another server"
        )
        with pytest.raises(ValueError, match="still being trained"):
            delete_run(tmp_path, "mine")
        assert process.poll() is None and (tmp_path / "mine" / "model.pt").is_file()  # untouched, still training
    finally:
        process.kill()
        process.wait()
    (run,) = list_runs(tmp_path)
    assert run.status != "elsewhere" and run.ours  # its lock died with it; the lock file it left is ours
    delete_run(tmp_path, "mine")
    assert not os.listdir(tmp_path)


def test_a_run_another_server_trains_is_not_interrupted_and_is_deleted_only_once_its_lock_is_free(
    tmp_path, monkeypatch
):
    write_run_info(tmp_path / "theirs", {"status": "running", "started_at": 1.0})
    with FolderLock(tmp_path / "theirs"):
        assert list_runs(tmp_path)[0].status == "elsewhere"
        with pytest.raises(ValueError, match="still being trained"):
            delete_run(tmp_path, "theirs")
        with monkeypatch.context() as patch:  # a training that starts between the listing and the deletion
            patch.setattr(runs, "folder_is_locked", lambda folder: False)
            with pytest.raises(ValueError, match="still being trained"):
                delete_run(tmp_path, "theirs")
    assert list_runs(tmp_path)[0].status == "interrupted"
    delete_run(tmp_path, "theirs")
    assert not os.listdir(tmp_path)
