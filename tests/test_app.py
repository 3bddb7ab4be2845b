"""The Streamlit app through ``streamlit.testing.v1.AppTest``: every page, typed sentences, training, uploads.

The app reads the default model from ``SEQ2SEQ_CHECKPOINT`` (here the tiny test model, which reverses 1-4 word
sentences of a dozen words) and writes runs under ``SEQ2SEQ_RUNS_DIR`` (here a temporary folder).
"""

import json
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import app_ui
from seq2seq.data import load_run_data
from seq2seq.registry import CHECKPOINT_ENV, RUNS_ENV, write_run_info
from seq2seq.train import Trainer
from tests.conftest import tiny_config

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "streamlit_app.py")
PAGES = ["pages/1_Train.py", "pages/2_Examples.py", "pages/3_Attention.py", "pages/4_Analysis.py"]


@pytest.fixture
def runs(monkeypatch, tmp_path, tiny_checkpoint) -> Path:
    """The tiny model as the default, runs in a temporary folder; the shared trainer left idle afterwards."""
    monkeypatch.setenv(CHECKPOINT_ENV, str(tiny_checkpoint))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    yield tmp_path / "runs"
    worker = app_ui.training_worker()
    worker.stop()
    assert worker.wait(120), "the training run did not end"


def open_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def tiny_settings(at: AppTest, epochs: int = 2) -> None:
    if at.radio(key="corpus_kind").value == "built-in generator":
        at.number_input(key="corpus_size").set_value(200)
        at.slider(key="length_range").set_value((1, 4))
    for key, value in [
        ("embedding_size", 8),
        ("hidden_size", 16),
        ("attention_size", 16),
        ("batch_size", 32),
        ("epochs", epochs),
        ("valid_size", 30),
        ("test_size", 30),
    ]:
        at.number_input(key=key).set_value(value)


def run_status(at: AppTest) -> str:
    return next((s for s in texts(at.subheader) if s.startswith("Run ")), "")


def wait_for_run_end(at: AppTest, timeout: float = 120) -> str:
    """Poll the Train page (as the fragment does) until the run has ended; return its status line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        status = run_status(at)
        if any(word in status for word in ("finished", "failed")):
            return status
        time.sleep(0.3)
    raise AssertionError(f"the run did not end in {timeout} s: {run_status(at)!r}")


# ------------------------------------------------------------------------------------------------- Try it
def test_try_it_reverses_a_typed_sentence(runs):
    at = open_app()
    assert any("Active model: shipped default" in c for c in texts(at.caption))
    at.text_input(key="sentence").input("the cat sat on").run()
    assert texts(at.code)[:2] == ["on sat cat the", "on sat cat the"]  # the output, then the true reversal
    assert any("Match" in s for s in texts(at.success))
    (chart,) = at.get("plotly_chart")
    assert "1·the" in chart.proto.spec and '"template"' in chart.proto.spec
    assert at.download_button(key="try_png").proto.label.startswith("Download the heatmap")


def test_example_buttons_fill_the_box(runs):
    at = open_app()
    labels = [b.label for b in at.button if b.key and b.key.startswith("example_")]
    assert labels and labels[-1] == "the wug sat on the mat"
    at.button(key="example_0").click().run()
    assert at.text_input(key="sentence").value == "the cat sat on the mat"
    assert texts(at.code)[1] == "mat the on sat cat the"


def test_unknown_words_are_flagged(runs):
    at = open_app()
    at.text_input(key="sentence").input("the wug sat").run()
    assert any("not in the model's vocabulary" in w for w in texts(at.warning))
    tokens = at.dataframe[0].value
    assert list(tokens["in vocabulary"]) == ["yes", "UNKNOWN: seen as <unk>", "yes"]


@pytest.mark.parametrize(("sentence", "message"), [("   ", "empty"), ("word " * 500, "limit")])
def test_unusable_input_gets_a_message(runs, sentence, message):
    at = open_app()
    at.text_input(key="sentence").input(sentence).run()
    assert not at.exception and any(message in e for e in texts(at.error))


def test_markup_is_shown_as_text(runs):
    at = open_app()
    at.text_input(key="sentence").input("<script>alert(1)</script> <b>x</b>").run()
    assert not at.exception and not at.get("html")
    assert texts(at.code)[1] == "> b / < x > b < > script / < ) 1 ( alert > script <"
    for element in [*at.markdown, *at.caption, *at.warning, *at.info, *at.success, *at.error]:
        assert "<script" not in element.value and "<b>" not in element.value
    spec = at.get("plotly_chart")[0].proto.spec
    assert "<b>" not in spec.replace("<br>", "") and "&lt;" in spec


# ------------------------------------------------------------------------------------------------- every page
@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_renders(runs, page):
    at = open_app(page)
    assert not at.error, texts(at.error)
    assert at.sidebar.markdown and any("shipped default" in m for m in texts(at.sidebar.markdown))


@pytest.mark.parametrize("content", [None, b"this is not a checkpoint"])
def test_missing_or_broken_default_model_gets_a_message_and_training_still_works(runs, monkeypatch, tmp_path, content):
    path = tmp_path / "model.pt"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv(CHECKPOINT_ENV, str(path))
    at = open_app()
    (error,) = texts(at.main.error)
    assert error.startswith("The default model cannot be loaded:") and "model.pt" in error
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    at.switch_page("pages/1_Train.py").run()
    assert at.button(key="start_training") and not at.main.error


# ------------------------------------------------------------------------------------------------- Train
def test_a_tiny_run_trains_lands_in_its_folder_and_becomes_active(runs):
    at = open_app("pages/1_Train.py")
    tiny_settings(at)
    at.button(key="start_training").click().run()
    assert any(s.startswith("Started run ") for s in texts(at.success)), texts(at.error)
    at.button(key="start_training").click().run()  # a second Start while one runs says so
    assert any("already in progress" in w for w in texts(at.warning))
    assert "finished (all epochs done)" in wait_for_run_end(at)
    (run_dir,) = runs.iterdir()
    assert {"model.pt", "history.csv", "run.json"} <= {p.name for p in run_dir.iterdir()}
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    assert any("epoch 2 step" in c for c in texts(at.code))
    assert len(at.get("plotly_chart")) >= 1
    at.button(key="activate_latest").click().run()
    assert at.session_state["active_model_path"] == str(run_dir / "model.pt")
    assert any("your active model" in s for s in texts(at.success))
    assert f"run {run_dir.name}".replace("-", "\\-") in texts(at.sidebar.markdown)
    at.switch_page("streamlit_app.py").run()
    assert any(c.startswith(f"Active model: run {run_dir.name}".replace("-", "\\-")) for c in texts(at.caption))


def test_a_second_session_sees_the_run_cannot_start_another_and_can_stop_it(runs):
    mine = open_app("pages/1_Train.py")
    tiny_settings(mine, epochs=500)
    mine.button(key="start_training").click().run()
    theirs = open_app("pages/1_Train.py")  # another browser tab or user: the same server-wide trainer
    name = run_status(mine).split(":")[0]
    assert run_status(theirs).startswith(name) and run_status(theirs).endswith(("preparing the data", "training"))
    theirs.button(key="start_training").click().run()
    assert any("already in progress" in w for w in texts(theirs.warning))
    theirs.button(key="stop_training").click().run()
    assert any("Stopping" in i for i in texts(theirs.info))
    assert "finished (stopped by a user)" in wait_for_run_end(mine)
    (run_dir,) = runs.iterdir()  # one run only, in its own folder
    assert (run_dir / "model.pt").is_file()


def test_bad_settings_are_refused_with_a_message(runs):
    at = open_app("pages/1_Train.py")
    at.number_input(key="lr").set_value(0.0)
    at.button(key="start_training").click().run()
    assert any("lr must be" in e for e in texts(at.error)) and any("Not started" in e for e in texts(at.error))
    assert not runs.exists()


def test_an_uploaded_corpus_trains(runs, tiny_corpus):
    at = open_app("pages/1_Train.py")
    at.radio(key="corpus_kind").set_value("uploaded text file").run()
    at.file_uploader(key="corpus_file").set_value(("my corpus.txt", tiny_corpus.read_bytes(), "text/plain")).run()
    assert not at.error, texts(at.error)
    assert any("split into" in c and "my corpus" in c for c in texts(at.caption))
    tiny_settings(at, epochs=1)
    at.button(key="start_training").click().run()
    assert "finished" in wait_for_run_end(at)
    (run_dir,) = runs.iterdir()
    assert (run_dir / "corpus.txt").read_bytes() == tiny_corpus.read_bytes()
    assert json.loads((run_dir / "run.json").read_text())["corpus"] == "my corpus.txt"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00\x01\x02 binary", "binary"), (b"", "empty"), (b"just\ntwo lines\n", "at least 30")],
)
def test_an_unusable_upload_is_refused_with_a_message(runs, content, message):
    at = open_app("pages/1_Train.py")
    at.radio(key="corpus_kind").set_value("uploaded text file").run()
    at.button(key="start_training").click().run()
    assert any("choose a text file" in e for e in texts(at.error))
    at.file_uploader(key="corpus_file").set_value(("bad.txt", content, "text/plain")).run()
    assert any(message in e for e in texts(at.error)), texts(at.error)
    at.button(key="start_training").click().run()
    assert any(e.startswith("Not started") for e in texts(at.error)) and not runs.exists()


def test_the_active_model_is_chosen_per_session(runs, tiny_checkpoint):
    run_dir = runs / "20250101-120000"
    run_dir.mkdir(parents=True)
    shutil.copy(tiny_checkpoint, run_dir / "model.pt")
    write_run_info(run_dir, {"status": "finished", "started_at": 0, "test": {"exact_match": 1.0}})
    mine, theirs = open_app("pages/1_Train.py"), open_app()
    assert mine.selectbox(key="run_choice").options == ["20250101-120000 · test exact match 100.0%"]
    mine.button(key="activate_run").click().run()
    assert "run 20250101\\-120000" in texts(mine.sidebar.markdown)
    theirs.run()
    assert "shipped default" in texts(theirs.sidebar.markdown)
    mine.button(key="use_default_model").click().run()
    assert "shipped default" in texts(mine.sidebar.markdown)


# ------------------------------------------------------------------------------------------------- Examples
def test_examples_table_filters_and_picked_row(runs):
    at = open_app("pages/2_Examples.py")
    table = at.dataframe(key="examples_table").value
    assert len(table) == 60 and list(table.columns) == ["#", "input", "output", "reference", "length", "match"]
    blocks = [c for c in texts(at.code) if c.startswith("Input: ")]
    assert len(blocks) >= 10 and all(b.splitlines()[-1] in ("match", "no match") for b in blocks)
    at.slider(key="length_filter").set_value((2, 2)).run()
    assert set(at.dataframe(key="examples_table").value["length"]) == {2}
    at.radio(key="match_filter").set_value("no match").run()
    assert not at.dataframe(key="examples_table").value["match"].any()
    at.radio(key="match_filter").set_value("all").run()
    shown = at.dataframe(key="examples_table").value
    at.session_state["examples_table"] = {"selection": {"rows": [3], "columns": [], "cells": []}}
    at.run()
    assert f"Example #{shown['#'].iloc[3]}" in texts(at.subheader)


# ------------------------------------------------------------------------------------------------- Attention
def test_attention_page_typed_sentence_metrics_and_replay(runs):
    at = open_app("pages/3_Attention.py")
    assert at.selectbox(key="attention_example").value == 0
    (table,) = at.dataframe
    metrics = table.value
    assert list(metrics.columns) == ["metric", "this sentence", "test set", "meaning"]
    at.radio(key="attention_source").set_value("a sentence I type").run()
    at.text_input(key="attention_sentence").input("the dog ran").run()
    assert texts(at.code)[0] == "input:  the dog ran\noutput: ran dog the"
    moments = at.select_slider(key="snapshot_moment")
    assert len(moments.options) >= 2 and moments.value == len(moments.options) - 1
    moments.set_value(0).run()
    assert not at.exception and any("epoch 1" in c for c in texts(at.caption))
    assert at.download_button(key="attention_png").proto.label.startswith("Download")


# ------------------------------------------------------------------------------------------------- Analysis
def test_analysis_page_answers_the_four_questions_and_shows_the_ablation(runs, monkeypatch, tmp_path, tiny_checkpoint):
    at = open_app("pages/4_Analysis.py")
    text = at.markdown[0].value if "How attention" in at.markdown[0].value else "\n".join(texts(at.markdown))
    for question in ("What patterns appear", "Does attention align", "How does attention help", "beginning and end"):
        assert question in text
    assert "test split of\n60 sentences" in text
    assert at.get("plotly_chart") and not at.dataframe
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(tiny_checkpoint, shipped / "model.pt")
    rows = [{"variant": "default", "test_mean": 0.99}, {"variant": "no attention", "test_mean": 0.4}]
    (shipped / "ablation.json").write_text(json.dumps({"seeds": 3, "rows": rows}))
    monkeypatch.setenv(CHECKPOINT_ENV, str(shipped / "model.pt"))
    at = open_app("pages/4_Analysis.py")
    (table,) = at.dataframe
    assert list(table.value["variant"]) == ["default", "no attention"]
    assert "without attention" in "\n".join(texts(at.markdown))


# ------------------------------------------------------------------------------------------------- other models
@pytest.fixture(scope="module")
def plain_checkpoint(tmp_path_factory, tiny_corpus) -> Path:
    """A model without attention (the ablation's plain encoder-decoder), one epoch on the tiny corpus."""
    out = tmp_path_factory.mktemp("plain")
    config = tiny_config(train_file=tiny_corpus.name, attention="none", epochs=1, hidden_size=16, embedding_size=8)
    Trainer(config, load_run_data(config, tiny_corpus), out, log=lambda line: None).run()
    return out / "model.pt"


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_renders_a_model_without_attention(runs, plain_checkpoint, page):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["active_model_path"] = str(plain_checkpoint)
    at.run()
    if page:
        at.switch_page(page).run()
    if page is None:
        at.text_input(key="sentence").input("the cat sat").run()
    assert not at.exception, at.exception
    assert not at.main.error or page is None  # Try it may say "No match": this model is barely trained
    if page != "pages/1_Train.py":
        assert any("no attention" in w for w in texts(at.warning))


@pytest.fixture(scope="module")
def copying_checkpoint(tmp_path_factory, tiny_corpus) -> Path:
    """The tiny model trained with words dropped to <unk>, so that it says <unk> where an unknown word belongs."""
    out = tmp_path_factory.mktemp("copying")
    config = tiny_config(train_file=tiny_corpus.name, unk_rate=0.15)
    Trainer(config, load_run_data(config, tiny_corpus), out, log=lambda line: None).run()
    return out / "model.pt"


def test_unknown_words_copied_through_attention_are_shown(runs, monkeypatch, copying_checkpoint):
    monkeypatch.setenv(CHECKPOINT_ENV, str(copying_checkpoint))
    at = open_app()
    at.text_input(key="sentence").input("the wug sat").run()
    assert texts(at.code)[:2] == ["sat wug the", "sat wug the"]
    assert any("Match" in s for s in texts(at.success))
    assert any("not in the model's vocabulary" in w for w in texts(at.warning))
    assert any("copied from the input" in i for i in texts(at.info))
    tokens, output = (frame.value for frame in at.dataframe)
    assert list(tokens["in vocabulary"]) == ["yes", "UNKNOWN: seen as <unk>", "yes"]
    assert [bool(flag) for flag in output["copied"]] == [False, True, False]


def test_a_model_file_that_turns_bad_keeps_the_last_good_model_served(runs, monkeypatch, tmp_path, tiny_checkpoint):
    path = tmp_path / "shipped" / "model.pt"
    path.parent.mkdir()
    shutil.copy(tiny_checkpoint, path)
    monkeypatch.setenv(CHECKPOINT_ENV, str(path))
    at = open_app()
    at.text_input(key="sentence").input("the cat sat").run()
    path.write_bytes(b"half a checkpoint")  # say, an interrupted copy over it
    at.run()
    assert not at.exception and not at.main.error
    assert texts(at.code)[0] == "sat cat the"
    assert any("cannot be used now" in w for w in texts(at.sidebar.warning))
