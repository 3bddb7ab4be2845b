"""Loaded models, how the app names them, and the model cache shared by every session."""

import gc
import os
import shutil
import threading
import weakref

import pytest

from seq2seq.app.models import (
    DECODES_KEPT,
    STILL_TRAINING,
    UNKNOWN_WORD_EXAMPLE,
    ModelCache,
    model_label,
    shipped_models,
    usable_run,
)
from seq2seq.app.runs import RUNS_ENV, delete_run, write_run_info
from seq2seq.checkpoint import CheckpointError
from seq2seq.decoding import Forcing
from seq2seq.paths import CHECKPOINT_ENV
from seq2seq.tokenize import tokenize


def at_once(calls: list) -> list:
    """Each call on a thread of its own, all released together (as sessions arriving at once); their results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_model_labels(monkeypatch, tmp_path):
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "shipped" / "model.pt"))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    assert model_label(tmp_path / "shipped" / "model.pt") == "shipped default"
    assert model_label(tmp_path / "runs" / "20250101-000000" / "model.pt") == "run 20250101-000000"
    assert model_label(tmp_path / "elsewhere.pt") == str(tmp_path / "elsewhere.pt")


def test_model_cache_loads_each_file_version_once(tmp_path, tiny_checkpoint):
    path = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, path)
    cache = ModelCache()
    models = at_once([lambda: cache.get(path)] * 8)
    assert cache.loads == 1 and all(m is models[0] for m in models)
    assert cache.get(path) is models[0] and cache.loads == 1
    # A new version of the file (another mtime) is loaded anew.
    shutil.copy(tiny_checkpoint, path)
    os.utime(path, ns=(1, 1))
    assert cache.get(path) is not models[0] and cache.loads == 2


def test_model_cache_remembers_broken_files_and_says_why(tmp_path):
    cache = ModelCache()
    with pytest.raises(CheckpointError, match="not found"):
        cache.get(tmp_path / "missing.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint at all")
    for _ in range(3):
        with pytest.raises(CheckpointError, match="broken.pt") as info:
            cache.get(broken)
        assert "\n" not in str(info.value)
    assert cache.loads == 1


def test_the_shipped_stop_model_is_listed_after_the_others_and_named_by_what_it_is(monkeypatch):
    """artifacts/stop is offered wherever the shipped models are (the picker, Compare, the replay, links), named by its
    folder, and its kind says how it departs from the default's."""
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.delenv(RUNS_ENV, raising=False)
    paths = shipped_models()
    assert [model_label(p) for p in paths] == ["shipped default", "shipped additive", "shipped encdec", "shipped stop"]
    stop = ModelCache().get(paths[-1])
    assert stop.kind_name == "location-aware attention without a query, stop read from the attention"
    assert "the weight its attention gives the input's end marker" in stop.kind_text


def test_loaded_model_summary_report_and_examples(tiny_checkpoint):
    model = ModelCache().get(tiny_checkpoint)
    assert model.accuracy_text().startswith("test exact match ") and "/60)" in model.accuracy_text()
    report = model.test_report()
    assert model.test_report() is report and report.evaluation.total == 60
    examples = model.example_sentences()
    assert 2 <= len(examples) <= 4 and examples[-1] == UNKNOWN_WORD_EXAMPLE
    vocab = model.reverser.vocab
    for sentence in examples[:-1]:
        assert all(tok in vocab for tok in tokenize(sentence))


def test_model_cache_keeps_serving_the_last_good_version(tmp_path, tiny_checkpoint):
    path = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, path)
    cache = ModelCache()
    good = cache.get(path)
    assert cache.problem(path) is None
    path.write_bytes(b"truncated")  # replaced by a broken file
    assert cache.get(path) is good and "model.pt" in cache.problem(path)
    path.unlink()  # or removed
    assert cache.get(path) is good and "not found" in cache.problem(path)
    shutil.copy(tiny_checkpoint, path)  # a good file again: loaded, and the problem is gone
    os.utime(path, ns=(5, 5))
    assert cache.get(path) is not good and cache.problem(path) is None


def test_model_cache_is_shared_safely_by_sessions_asking_for_different_models_at_once(tmp_path, tiny_checkpoint):
    """Eight sessions at once, four per model, one of them naming its file by another path: one load per model."""
    first, second = tmp_path / "a" / "model.pt", tmp_path / "b" / "model.pt"
    for path in (first, second):
        path.parent.mkdir()
        shutil.copy(tiny_checkpoint, path)
    other_spelling = tmp_path / "b" / ".." / "a" / "model.pt"
    cache = ModelCache()
    models = at_once([lambda p=p: cache.get(p) for p in [first, second, other_spelling, second] * 2])
    assert cache.loads == 2
    assert {id(m) for m in models[0::2]} == {id(models[0])} and {id(m) for m in models[1::2]} == {id(models[1])}
    assert models[0] is not models[1] and models[0].path.resolve() == first.resolve()
    # and the shared model answers sessions reversing at the same time as it answers one alone
    expected = models[0].reverser.reverse("the big cat sat").output
    outputs = at_once([lambda m=m: m.reverser.reverse("the big cat sat").output for m in models])
    assert outputs == [expected] * 8


def test_model_cache_holds_at_most_its_bounds_and_releases_what_it_evicts(tmp_path, tiny_checkpoint):
    """A dozen models viewed in turn: at most ``max_entries`` stay loaded, at most ``max_bytes`` of parameters, and
    an evicted model (the last good version of a file included) is freed once no page holds it."""
    paths = []
    for i in range(12):
        path = tmp_path / f"run{i}" / "model.pt"
        path.parent.mkdir()
        shutil.copy(tiny_checkpoint, path)
        paths.append(path)
    cache = ModelCache(max_entries=3)
    refs = []
    for path in paths:
        refs.append(weakref.ref(cache.get(path)))
        assert len(cache.loaded()) <= 3
    gc.collect()
    alive = [i for i, ref in enumerate(refs) if ref() is not None]
    assert alive == [9, 10, 11]
    # a file that turned bad is served from its last good version only while that stays in the cache
    paths[11].write_bytes(b"broken")
    assert cache.get(paths[11]) is refs[11]() and cache.problem(paths[11])
    for path in paths[:3]:
        cache.get(path)
    gc.collect()
    assert refs[11]() is None and cache.problem(paths[11]) is None
    with pytest.raises(CheckpointError, match="model.pt"):
        cache.get(paths[11])
    # the memory bound: room for two of these models' parameters, so the count bound of 10 never comes into play
    one = cache.get(paths[0]).nbytes
    small = ModelCache(max_entries=10, max_bytes=2 * one + one // 2)
    for path in paths[:6]:
        small.get(path)
        assert small.loaded_bytes <= small.max_bytes
    assert [m.path for m in small.loaded()] == paths[4:6]
    # one model over the memory bound is still served (the one asked for always stays), alone
    assert ModelCache(max_bytes=1).get(paths[0]).nbytes == one


def test_a_loaded_model_decodes_each_sentence_and_setting_once_and_keeps_only_the_last_few(tmp_path, tiny_checkpoint):
    path = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, path)
    cache = ModelCache()
    model = cache.get(path)
    own = model.decode(["the", "cat"], record=True)
    assert model.decode(["the", "cat"], record=True) is own and model.decode_runs == 1
    forced = Forcing(words={0: model.reverser.vocab.stoi["cat"]})
    assert model.decode(["the", "cat"], forcing=forced).output[0] == "cat"  # a setting of its own
    assert model.decode(["the", "cat"], record=True, beam=2) is not own and model.decode_runs == 3
    for i in range(DECODES_KEPT):
        model.decode(["the"] * (i + 1))
    assert len(model._decodes) == DECODES_KEPT
    model.decode(["the", "cat"], record=True)  # pushed out by newer ones: decoded again
    assert model.decode_runs == 3 + DECODES_KEPT + 1
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new version of the file: decoded anew
    fresh = cache.get(path)
    assert fresh is not model and fresh.decode(["the", "cat"], record=True) is not own and fresh.decode_runs == 1


def test_a_run_is_usable_only_while_it_is_listed_finished_with_a_model(tmp_path, tiny_checkpoint):
    run = tmp_path / "20250101-120000"
    run.mkdir()
    shutil.copy(tiny_checkpoint, run / "model.pt")
    write_run_info(run, {"status": "finished", "started_at": 0})
    assert usable_run(run.name, tmp_path) == (run / "model.pt", None)
    write_run_info(run, {"status": "running", "started_at": 0})
    assert usable_run(run.name, tmp_path, live_run_dir=run) == (None, STILL_TRAINING)
    write_run_info(run, {"status": "finished", "started_at": 0})
    (run / "model.pt").unlink()
    assert usable_run(run.name, tmp_path)[1].startswith("is no longer a finished run with a model")
    delete_run(tmp_path, run.name)
    assert usable_run(run.name, tmp_path)[0] is None
