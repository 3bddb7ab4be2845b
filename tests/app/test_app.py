"""The Streamlit app through ``streamlit.testing.v1.AppTest``: every page, typed sentences, training, uploads.

The app reads the default model from ``SEQ2SEQ_CHECKPOINT`` (here the tiny test model, which reverses 1-4 word
sentences of a dozen words) and writes runs under ``SEQ2SEQ_RUNS_DIR`` (here a temporary folder).
"""

import csv
import gc
import html
import json
import re
import shutil
import socket
import time
import tomllib
import unicodedata
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from harness.browser import run_folders
from seq2seq.ablate import term_ablation
from seq2seq.app.models import shipped_models
from seq2seq.app.runs import delete_run, write_run_info
from seq2seq.app.training_queue import TrainingQueue
from seq2seq.app.views import ablation_text, markdown_escape
from seq2seq.app.watchers import live_refresh_seconds
from seq2seq.config import Config
from seq2seq.corpus import MAX_CORPUS_BYTES
from seq2seq.data import load_run_data
from seq2seq.evaluation import SHOWCASE_SENTENCE, evaluate_sentences
from seq2seq.metrics import percent
from seq2seq.paths import CHECKPOINT_ENV, default_checkpoint_path
from seq2seq.run_folder import Trainer
from seq2seq.tokenize import MAX_SENTENCE_CHARS, MAX_SENTENCE_TOKENS, checked_tokens, tokenize
from tests.app.conftest import APP, PAGES, REPO, open_app, texts, tiny_settings
from tests.conftest import TINY_WORDS, tiny_config
from tests.processes import dead_pid
from ui import session, training, warm_up, widgets


def run_status(at: AppTest) -> str:
    return next((s for s in texts(at.header) if s.startswith("Run ")), "")


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
    assert texts(at.text)[:2] == ["on sat cat the", "on sat cat the"]  # the output, then the true reversal
    assert any("Match" in s for s in texts(at.success))
    (chart,) = at.get("plotly_chart")
    figure = json.loads(chart.proto.spec)  # read the figure's data, not its serialisation (escaping may vary)
    heatmap = figure["data"][0]
    assert heatmap["x"] == ["1·the", "2·cat", "3·sat", "4·on", "5·&lt;eos&gt;"]  # labels are HTML-escaped
    assert heatmap["y"][:4] == ["1·on", "2·sat", "3·cat", "4·the"]
    assert "template" in figure["layout"]
    assert at.download_button(key="try_png").proto.label.startswith("Download the heatmap")


def test_example_buttons_fill_the_box(runs):
    at = open_app()
    labels = [b.label for b in at.button if b.key and b.key.startswith("example_")]
    assert labels and labels[-1] == "the wug sat on the mat"
    at.button(key="example_0").click().run()
    assert at.text_input(key="sentence").value == "the cat sat on the mat"
    assert texts(at.text)[1] == "mat the on sat cat the"


def test_unknown_words_are_flagged(runs):
    at = open_app()
    at.text_input(key="sentence").input("the wug sat").run()
    assert any("not in the model's vocabulary" in w for w in texts(at.warning))
    tokens = at.dataframe[0].value
    assert list(tokens["in vocabulary"]) == ["yes", "UNKNOWN: seen as <unk>", "yes"]


@pytest.mark.parametrize(
    ("sentence", "message"),
    [
        ("   ", "empty"),
        ("\t\n\x00", "empty"),
        ("word " * 500, f"the limit is {MAX_SENTENCE_CHARS:,}"),
        ("word " * 10_000, f"the limit is {MAX_SENTENCE_CHARS:,}"),  # 10,000 words
        ("a " * (MAX_SENTENCE_TOKENS + 1), f"the limit is {MAX_SENTENCE_TOKENS}"),  # short enough, too many words
    ],
    ids=["spaces", "white-space-and-control", "500-words", "10000-words", "101-words"],
)
def test_unusable_input_gets_a_message(runs, sentence, message):
    at = open_app()
    started = time.monotonic()
    at.text_input(key="sentence").input(sentence).run()
    assert time.monotonic() - started < 10  # refused before any model work, not after it
    assert not at.exception and any(message in e for e in texts(at.error)), texts(at.error)
    assert not at.get("plotly_chart")


ODD_SENTENCES = [
    "?!",  # only punctuation
    "... ; -- !?",
    "cat",  # one word
    "The CAT sAt",  # mixed case
    "the\tcat\nsat",  # tabs and newlines
    "the\x00cat\x07sat\x1b[31m on\u200b",  # control characters (and a zero-width space)
    "🐱 sat on 🧶 😀",  # emoji
    "кошка сидела на коврике",  # Cyrillic
    "猫 坐 在 垫子 上",  # CJK
    "جلست القطة على الحصيرة",  # Arabic
    "<b>x</b>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)> & &amp; `code` *star* [link](http://x)",
]
RAW_MARKUP = re.compile(r"(?<!\\)<(b|/b|i|script|/script|img)\b")  # a tag, not escaped for Markdown


def plotly_labels(spec: str) -> list[str]:
    figure = json.loads(spec)
    labels = [str(v) for trace in figure["data"] for axis in ("x", "y") for v in (trace.get(axis) or [])]
    return [*labels, str(((figure.get("layout") or {}).get("title") or {}).get("text") or "")]


def assert_shown_as_text(at: AppTest) -> None:
    """No markup of the user's in Markdown-rendered text, nor in the labels and titles of a chart (escaped for
    Plotly, which renders some HTML there and in hover text)."""
    assert not at.get("html")
    for element in [*at.markdown, *at.caption, *at.warning, *at.info, *at.success, *at.error, *at.header]:
        assert not RAW_MARKUP.search(element.value), element.value
    for chart in at.get("plotly_chart"):
        assert not any("<" in label for label in plotly_labels(chart.proto.spec))


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.mark.parametrize("page", ["Try it", "Attention"])
def test_odd_sentences_are_reversed_and_shown_as_text(runs, page):
    """Punctuation only, one word, mixed case, tabs, control characters, emoji, other scripts and markup: each is
    reversed (as the tokenizer splits it) with no exception, and shown as text everywhere."""
    at = open_app(None if page == "Try it" else "pages/attention.py")
    if page == "Attention":
        at.radio(key="attention_source").set_value("a sentence I type").run()
    for sentence in ODD_SENTENCES:
        tokens = tokenize(sentence)
        if page == "Try it":
            at.text_input(key="sentence").input(sentence).run()
            shown = texts(at.text)[1]  # the true reversal
            assert shown == " ".join(reversed(tokens)), sentence
        else:
            at.text_input(key="attention_sentence").input(sentence).run()
            shown = texts(at.code)[0]
            assert shown.startswith(f"input:  {' '.join(tokens)}\noutput: "), sentence
        assert not at.exception, (sentence, at.exception)
        assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in shown), sentence
        assert_shown_as_text(at)
        heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
        assert heatmap["x"] == [f"{i}·{html.escape(t, quote=False)}" for i, t in enumerate([*tokens, "<eos>"], 1)]


def test_markup_is_shown_as_text(runs):
    at = open_app()
    at.text_input(key="sentence").input("<script>alert(1)</script> <b>x</b>").run()
    assert not at.exception and not at.get("html")
    assert texts(at.text)[1] == "> b / < x > b < > script / < ) 1 ( alert > script <"
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
    at.switch_page("pages/train.py").run()
    assert at.button(key="start_training") and not at.main.error


# ------------------------------------------------------------------------------------------------- Train
def test_a_tiny_run_trains_lands_in_its_folder_and_becomes_active(runs):
    at = open_app("pages/train.py")
    tiny_settings(at)
    at.button(key="start_training").click().run()
    assert any(s.startswith("Started run ") for s in texts(at.success)), texts(at.error)
    at.button(key="start_training").click().run()  # a second Start while one runs says so
    assert any("already in progress" in w for w in texts(at.warning))
    assert "finished (all epochs done)" in wait_for_run_end(at)
    (run_dir,) = run_folders(runs)
    assert {"model.pt", "history.csv", "run.json"} <= {p.name for p in run_dir.iterdir()}
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    assert any("epoch 2 step" in c for c in texts(at.code))
    assert len(at.get("plotly_chart")) >= 1
    at.button(key="activate_latest").click().run()
    assert at.session_state["active_model_path"] == str(run_dir / "model.pt")
    assert any("your active model" in s for s in texts(at.success))
    assert f"run {run_dir.name}".replace("-", "\\-") in texts(at.sidebar.markdown)
    at.switch_page("pages/try_it.py").run()
    assert any(c.startswith(f"Active model: run {run_dir.name}".replace("-", "\\-")) for c in texts(at.caption))


def test_a_second_sessions_start_waits_in_the_queue_says_its_place_and_can_be_cancelled(runs):
    mine = open_app("pages/train.py")
    tiny_settings(mine, epochs=500)
    mine.button(key="start_training").click().run()
    theirs = open_app("pages/train.py")  # another browser tab or user: the same server-wide slots and queue
    name = run_status(mine).split(":")[0]
    assert run_status(theirs).startswith(name) and run_status(theirs).endswith(("preparing the data", "training"))
    theirs.button(key="start_training").click().run()
    assert any(s.startswith("Queued: every training slot is taken") for s in texts(theirs.success))
    assert any(i.startswith("Your run is queued: number 1 of 1 waiting.") for i in texts(theirs.info))
    table = theirs.dataframe[0].value
    assert list(table["place"]) == ["training", "1"] and list(table["whose"]) == ["another session's", "yours"]
    theirs.button(key="start_training").click().run()  # one run per session, queued or training
    assert any("already in the queue (number 1)" in w for w in texts(theirs.warning))
    theirs.button(key="cancel_queued").click().run()
    assert "Cancelled: your run left the queue." in texts(theirs.info)
    assert list(theirs.dataframe[0].value["place"]) == ["training"]
    theirs.button(key="stop_training").click().run()  # anyone may stop the run on show
    assert any("Stopping" in i for i in texts(theirs.info))
    assert "finished (stopped by a user)" in wait_for_run_end(mine)
    (run_dir,) = run_folders(runs)  # one run only, in its own folder: the cancelled one never started
    assert (run_dir / "model.pt").is_file()


def test_while_a_run_trains_its_view_redraws_every_second_and_the_queue_every_five(runs, monkeypatch):
    """Every watching session redraws on the server's one interpreter, which a class's answers wait for: the queue's
    places and table change when a run starts or ends (which redraws the whole page), so they redraw less often; and
    while a class watches, each session redraws the live view less often than one alone."""
    training.watchers.clear()  # no session of an earlier test watches
    intervals = {}  # each fragment the page defines: its run_every
    fragment = st.fragment

    def recorded(func=None, **options):
        if func is None:
            return lambda func: recorded(func, **options)
        intervals[func.__name__] = options.get("run_every")
        return fragment(func, **options)

    monkeypatch.setattr(st, "fragment", recorded)
    at = open_app("pages/train.py")
    assert intervals["queue_section"] is None and intervals["live_view"] is None  # no run: nothing to refresh
    tiny_settings(at, epochs=500)
    at.button(key="start_training").click().run()
    at.run()  # the page as drawn once the run trains
    assert (intervals["live_view"], intervals["queue_section"]) == (1.0, 5.0)
    for other in range(9):  # nine more sessions watch
        training.watchers().saw(f"another session {other}", time.monotonic())
    at.run()
    assert intervals["live_view"] == live_refresh_seconds(10) > 1.0
    at.button(key="stop_training").click().run()
    assert "finished (stopped by a user)" in wait_for_run_end(at)


def test_a_queued_run_starts_by_itself_when_the_run_ahead_ends(runs):
    mine = open_app("pages/train.py")
    tiny_settings(mine, epochs=500)
    mine.button(key="start_training").click().run()
    theirs = open_app("pages/train.py")
    tiny_settings(theirs, epochs=1)
    theirs.button(key="start_training").click().run()
    assert any(i.startswith("Your run is queued: number 1 of 1") for i in texts(theirs.info))
    mine.button(key="stop_training").click().run()
    first = wait_for_run_end(mine).split(":")[0]
    deadline = time.monotonic() + 120
    while not (run_status(theirs).startswith("Run ") and run_status(theirs).split(":")[0] != first):
        assert time.monotonic() < deadline, run_status(theirs)
        time.sleep(0.3)
        theirs.run()
    assert "finished (all epochs done)" in wait_for_run_end(theirs)
    assert len(run_folders(runs)) == 2 and not any(i.startswith("Your run is queued") for i in texts(theirs.info))


def test_a_run_cut_off_by_a_server_that_is_gone_is_offered_again_to_its_owner(runs):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["training_owner"] = "me"  # this session's key in the queue
    queue = TrainingQueue()
    config = tiny_config(corpus_size=200, max_length=4, valid_size=30, test_size=30, epochs=1, hidden_size=16,
                         embedding_size=8, attention_size=16)  # fmt: skip
    queue.enqueue("me", config, "built-in generator")
    queue.claim(f"{socket.gethostname()}:{dead_pid()}:gone")  # the server that trained it has ended
    queue.reap()
    at.run().switch_page("pages/train.py").run()
    (warning,) = [w for w in texts(at.warning) if w.startswith("Your run")]
    assert "did not finish (interrupted: the server training it stopped before the run ended)" in warning
    at.button(key="restart_run").click().run()
    assert queue.latest("me").status in ("running", "finished") and "finished" in wait_for_run_end(at)
    (run_dir,) = run_folders(runs)
    assert json.loads((run_dir / "run.json").read_text())["config"]["corpus_size"] == 200


def test_a_broken_queue_database_is_one_line_on_the_train_page_and_nothing_else_minds(runs):
    runs.mkdir(parents=True)
    (runs / "app.sqlite3").write_bytes(b"not a database " * 100)
    at = open_app("pages/train.py")
    assert [e for e in texts(at.error) if e.startswith("The training queue cannot be read now: the shared database")]
    tiny_settings(at)
    at.button(key="start_training").click().run()
    (refused,) = [e for e in texts(at.error) if e.startswith("Not started:")]
    assert "app.sqlite3" in refused and "\n" not in refused and not run_folders(runs)
    at.switch_page("pages/try_it.py").run()
    assert not at.exception and not at.error


def record_training_figures(monkeypatch) -> list[tuple]:
    """The arguments of every live-curves figure the app builds from now on."""
    built: list[tuple] = []
    training_figure = training.training_figure
    monkeypatch.setattr(training, "training_figure", lambda *args: built.append(args) or training_figure(*args))
    return built


def train_page_after_a_tiny_run(epochs: int) -> AppTest:
    """The Train page of a session that started a tiny run, watched it to its end, and drew the page once more."""
    at = open_app("pages/train.py")
    tiny_settings(at, epochs=epochs)
    at.button(key="start_training").click().run()
    wait_for_run_end(at)
    return at.run()


def test_sessions_watching_a_run_share_its_figures(runs, monkeypatch):
    """The live view redraws every second in every watching session; its figures are built once per moment of the
    run, not once per session."""
    built = record_training_figures(monkeypatch)
    at = train_page_after_a_tiny_run(epochs=1)
    drawn = len(built)
    others = [open_app("pages/train.py") for _ in range(3)]
    assert drawn >= 1 and len(built) == drawn
    assert len({tab.get("plotly_chart")[0].proto.spec for tab in [at, *others]}) == 1


def test_the_server_does_not_collect_garbage_after_every_rerun():
    """Streamlit's default full collection after each script run held the GIL for ~0.3 s with torch loaded, on every
    tick of every watching session's live view: three Train pages starved a training run. The soak checks memory."""
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_bad_settings_are_refused_with_a_message(runs):
    at = open_app("pages/train.py")
    at.number_input(key="lr").set_value(0.0)
    at.button(key="start_training").click().run()
    assert any("lr must be" in e for e in texts(at.error)) and any("Not started" in e for e in texts(at.error))
    assert not runs.exists()


def test_an_uploaded_corpus_trains(runs, tiny_corpus):
    at = open_app("pages/train.py")
    at.radio(key="corpus_kind").set_value("uploaded text file").run()
    at.file_uploader(key="corpus_file").set_value(("my corpus.txt", tiny_corpus.read_bytes(), "text/plain")).run()
    assert not at.error, texts(at.error)
    assert any("split into" in c and "my corpus" in c for c in texts(at.caption))
    tiny_settings(at, epochs=1)
    at.button(key="start_training").click().run()
    assert "finished" in wait_for_run_end(at)
    (run_dir,) = run_folders(runs)
    assert (run_dir / "corpus.txt").read_bytes() == tiny_corpus.read_bytes()
    assert json.loads((run_dir / "run.json").read_text())["corpus"] == "my corpus.txt"


def distinct_lines(count: int) -> bytes:
    return "".join(f"the cat sat on mat {i}\n" for i in range(count)).encode()


UNUSABLE_UPLOADS = {  # name: (content, made when the test runs; what the message says)
    "binary": (lambda: b"\x00\x01\x02 binary", "binary"),
    "empty": (lambda: b"", "empty"),
    "blank-lines": (lambda: b"\n \n\t\n" * 100, "empty"),
    "two-lines": (lambda: b"just\ntwo lines\n", "at least 30"),
    "not-utf-8": (lambda: "".join(f"café crème numéro {i}\n" for i in range(40)).encode("latin-1"), "not UTF-8"),
    "one-10-mb-line": (lambda: b"word " * 2_000_000, "over-long lines"),
    "all-lines-identical": (lambda: b"the cat sat on the mat\n" * 5_000, "1 distinct sentences"),
    "too-small-to-split": (lambda: distinct_lines(29), "29 distinct sentences; at least 30"),
    "millions-of-lines-over-the-size-limit": (
        lambda: b"the cat sat\n" * (MAX_CORPUS_BYTES // 12 + 1),
        f"the limit is {MAX_CORPUS_BYTES // 2**20} MB",
    ),
}


@pytest.mark.parametrize("kind", UNUSABLE_UPLOADS)
def test_an_unusable_upload_is_refused_with_a_message(runs, kind):
    make, message = UNUSABLE_UPLOADS[kind]
    at = open_app("pages/train.py")
    at.radio(key="corpus_kind").set_value("uploaded text file").run()
    at.button(key="start_training").click().run()
    assert any("choose a text file" in e for e in texts(at.error))
    at.file_uploader(key="corpus_file").set_value(("bad.txt", make(), "text/plain")).run()
    assert not at.exception, at.exception
    assert any(message in unescaped(e) for e in texts(at.error)), texts(at.error)
    at.button(key="start_training").click().run()
    assert any(e.startswith("Not started") for e in texts(at.error)) and not runs.exists()


def test_an_upload_with_some_bad_lines_says_what_was_skipped_and_keeps_the_rest(runs):
    good = distinct_lines(40)
    content = good + good + "café\n".encode("latin-1") * 3 + b"word " * 1_000 + b"\n\n\n"
    at = open_app("pages/train.py")
    at.radio(key="corpus_kind").set_value("uploaded text file").run()
    at.file_uploader(key="corpus_file").set_value(("mixed.txt", content, "text/plain")).run()
    assert not at.exception and not at.error, texts(at.error)
    (caption,) = [c for c in texts(at.caption) if "split into" in c]
    assert "80 sentences" in caption and "skipped 3 lines that are not UTF\\-8" in caption
    assert "skipped 1 over\\-long lines" in caption and "skipped 2 empty lines" in caption
    assert "split into 32 train / 4 valid / 4 test" in caption  # duplicates dropped: 40 distinct sentences


@pytest.mark.parametrize("content", [None, b""], ids=["usable", "refused"])
def test_markup_in_an_uploaded_file_name_is_shown_as_text(runs, content):
    at = open_app("pages/train.py")
    at.radio(key="corpus_kind").set_value("uploaded text file").run()
    name = "<img src=x onerror=alert(1)><b>bold<i> [link](javascript:alert(1)) *star*.txt"
    data = distinct_lines(40) if content is None else content
    at.file_uploader(key="corpus_file").set_value((name, data, "text/plain")).run()
    assert not at.exception, at.exception
    shown = [c for c in texts(at.caption) if "split into" in c] if content is None else texts(at.error)
    assert shown and all(unescaped(name) in unescaped(text) for text in shown)
    for text in shown:  # every Markdown character of the name escaped: shown as it is, never as a link or a tag
        assert "\\<img" in text and "\\[link\\]\\(javascript" in text and "\\*star\\*" in text, text
    assert_shown_as_text(at)


def test_a_batch_larger_than_the_corpus_trains_in_one_batch(runs):
    at = open_app("pages/train.py")
    at.radio(key="corpus_kind").set_value("uploaded text file").run()
    lines = "".join(f"{a} {b}\n" for a in TINY_WORDS[:5] for b in TINY_WORDS[:8]).encode()  # 40 distinct
    at.file_uploader(key="corpus_file").set_value(("small.txt", lines, "text/plain")).run()
    tiny_settings(at, epochs=2)
    at.number_input(key="batch_size").set_value(4096).run()
    at.button(key="start_training").click().run()
    assert any(s.startswith("Started run ") for s in texts(at.success)), texts(at.error)
    assert "finished (all epochs done)" in wait_for_run_end(at)
    (run_dir,) = run_folders(runs)
    assert (run_dir / "model.pt").is_file()
    with open(run_dir / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[-1]["epoch"] == "2" and rows[-1]["step"] == "2"  # one batch per epoch


def test_settings_outside_the_widget_bounds_never_reach_the_trainer(runs):
    """A modified client can send any number; Streamlit puts one outside a widget's bounds back to the default (the
    Config would refuse most of them too, but not, say, a billion training sentences), and lr 0, inside the bounds,
    is refused with a message. Nothing starts and nothing is written."""
    defaults = Config()
    hostile = {
        "lr": float("nan"),
        "embedding_size": 0,
        "hidden_size": 100_000,
        "batch_size": -1,
        "epochs": 0,
        "corpus_size": 10**9,
        "valid_size": -5,
        "clip": float("inf"),
    }
    at = open_app("pages/train.py")
    for key, value in hostile.items():
        at.number_input(key=key).set_value(value)
    at.run()
    assert not at.exception, at.exception
    for key in hostile:
        expected = getattr(defaults, key)
        assert at.session_state[key] == expected, (key, at.session_state[key])
    at.number_input(key="lr").set_value(0.0)
    at.number_input(key="corpus_size").set_value(10**9)
    at.button(key="start_training").click().run()
    assert at.session_state["corpus_size"] == defaults.corpus_size
    assert any("lr must be" in e for e in texts(at.error)) and any("Not started" in e for e in texts(at.error))
    assert not runs.exists() and not training.training_pool().state().active


def test_the_active_model_is_chosen_per_session(runs, tiny_checkpoint):
    run_dir = runs / "20250101-120000"
    run_dir.mkdir(parents=True)
    shutil.copy(tiny_checkpoint, run_dir / "model.pt")
    write_run_info(run_dir, {"status": "finished", "started_at": 0, "test": {"exact_match": 1.0}})
    mine, theirs = open_app("pages/runs.py"), open_app()
    assert mine.selectbox(key="run_choice").options == ["20250101-120000 · test exact match 100.0%"]
    mine.button(key="activate_run").click().run()
    assert "run 20250101\\-120000" in texts(mine.sidebar.markdown)
    theirs.run()
    assert "shipped default" in texts(theirs.sidebar.markdown)
    mine.button(key="use_default_model").click().run()
    assert "shipped default" in texts(mine.sidebar.markdown)


def test_a_run_is_deleted_only_when_confirmed_and_its_session_falls_back_to_the_default(runs, tiny_checkpoint):
    for name in ("20250101-120000", "20250102-120000"):
        (runs / name).mkdir(parents=True)
        shutil.copy(tiny_checkpoint, runs / name / "model.pt")
        write_run_info(runs / name, {"status": "finished", "started_at": 0, "test": {"exact_match": 1.0}})
    at, other = open_app("pages/runs.py"), open_app("pages/runs.py")
    other.selectbox(key="delete_choice").set_value("20250101-120000").run()
    other.checkbox(key="delete_confirm").check().run()
    at.selectbox(key="run_choice").set_value("20250101-120000").run()
    at.button(key="activate_run").click().run()
    assert "run 20250101\\-120000" in texts(at.sidebar.markdown)
    assert at.button(key="delete_run").disabled  # not without the check box
    at.selectbox(key="delete_choice").set_value("20250101-120000").run()
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_run").click().run()
    assert not at.exception, at.exception
    assert [p.name for p in run_folders(runs)] == ["20250102-120000"]
    assert "Deleted run 20250101\\-120000." in texts(at.success)
    assert "shipped default" in texts(at.sidebar.markdown)
    assert at.selectbox(key="delete_choice").options == ["20250102-120000"]
    assert at.button(key="delete_run").disabled  # the check box is cleared for the next one
    other.button(key="delete_run").click().run()  # a session whose page still lists the deleted run
    assert any(e.startswith("Not deleted: there is no run folder") for e in texts(other.error)), texts(other.error)
    assert [p.name for p in run_folders(runs)] == ["20250102-120000"]


# ------------------------------------------------------------------------------------------------- Examples
def test_examples_table_filters_and_picked_row(runs):
    at = open_app("pages/examples.py")
    table = at.dataframe(key="examples_table").value
    columns = ["#", "input", "output", "reference", "length", "match", "failure"]
    assert len(table) == 60 and list(table.columns) == columns
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
    assert f"Example #{shown['#'].iloc[3]}" in texts(at.header)


def test_examples_filter_by_failure_label(runs):
    """The shipped encoder-decoder fails most of its test split: filtering by a label shows exactly the wrong decodes
    that got it, as many as the evaluation counts, and the label in every row; a model without attention never has
    "attention drifted"."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["active_model_path"] = str(REPO / "artifacts" / "encdec" / "model.pt")
    at.run()
    at.switch_page("pages/examples.py").run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart")[1].proto.spec  # the failures chart under the per-length one
    table = at.dataframe(key="examples_table").value
    counts = table["failure"].value_counts().to_dict()
    assert set(counts) == set(table.loc[~table["match"], "failure"]) | {""} and "attention drifted" not in counts
    assert counts[""] == table["match"].sum()  # a match has no label; every wrong decode has one
    top = max((label for label in counts if label), key=counts.get)
    assert f"{top} ({counts[top]:,})" in at.selectbox(key="failure_filter").options
    at.selectbox(key="failure_filter").set_value(top).run()
    shown = at.dataframe(key="examples_table").value
    assert len(shown) == counts[top] and set(shown["failure"]) == {top} and not shown["match"].any()
    at.selectbox(key="failure_filter").set_value("any").run()
    assert len(at.dataframe(key="examples_table").value) == len(table)


# ------------------------------------------------------------------------------------------------- Attention
def test_attention_page_typed_sentence_metrics_and_replay(runs):
    at = open_app("pages/attention.py")
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


def test_attention_page_shows_no_alignment_for_the_encoder_decoder(runs):
    """The shipped encoder-decoder has no attention: under "No attention to show" there is no alignment table (its
    fixed weights would read "100% on <eos>, entropy 0"), and no training replay of an alignment that never formed."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["active_model_path"] = str(REPO / "artifacts" / "encdec" / "model.pt")
    at.run()
    at.switch_page("pages/attention.py").run()
    assert not at.exception, at.exception
    assert any("No attention to show" in i.value for i in at.info)
    assert not at.dataframe and "Alignment metrics" not in texts(at.header)
    assert not at.get("plotly_chart") and "Entropy is low" not in "\n".join(texts(at.caption))
    assert any("no alignment formed" in i.value for i in at.info)


# ------------------------------------------------------------------------------------------------- Analysis
def test_analysis_page_answers_the_four_questions_and_shows_the_ablation(runs, monkeypatch, tmp_path, tiny_checkpoint):
    at = open_app("pages/analysis.py")
    text = at.markdown[0].value if "How attention" in at.markdown[0].value else "\n".join(texts(at.markdown))
    for question in ("What patterns appear", "Does attention align", "How does attention help", "beginning and end"):
        assert question in text
    assert "test split of\n60 sentences" in text
    assert at.get("plotly_chart") and not at.dataframe
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(tiny_checkpoint, shipped / "model.pt")
    rows = [
        {"variant": "default", "test_mean": 0.99, "normal_mean": 0.99, "normal_std": 0.01, "t99_mean": 12.0},
        {"variant": "no attention", "test_mean": 0.4, "normal_mean": 0.4, "normal_std": 0.1, "t99_reached": "0/3"},
    ]
    (shipped / "ablation.json").write_text(json.dumps({"seeds": 3, "rows": rows}))
    monkeypatch.setenv(CHECKPOINT_ENV, str(shipped / "model.pt"))
    at = open_app("pages/analysis.py")
    (table,) = at.dataframe
    assert list(table.value["variant"]) == ["default", "no attention"]
    assert list(table.value["normal"]) == ["0.990 ± 0.010", "0.400 ± 0.100"]
    assert "without attention" in "\n".join(texts(at.markdown))


def test_analysis_page_switches_a_term_off_over_the_test_split(runs, tiny_reverser):
    """Nothing is decoded again until a term is chosen; then exact match per length with it off, next to every term
    on, and the failures recomputed, as ``term_ablation`` gives them."""
    at = open_app("pages/analysis.py")
    assert "Every test sentence is reversed exactly: there is no failure to chart." in texts(at.caption)
    assert any(c.startswith("This model (location-aware attention) has 3 terms") for c in texts(at.caption))
    assert at.radio(key="ablate_term").value is None and not at.dataframe
    at.radio(key="ablate_term").set_value("content").run()
    assert not at.exception, at.exception
    test = tiny_reverser.checkpoint.test_sentences
    expected = term_ablation(tiny_reverser, test, "content").evaluation
    (table,) = at.dataframe  # the ablation table (no ablation.json beside the tiny model)
    table = table.value
    assert list(table["length"]) == [int(n) for n in expected.per_length]
    assert list(table["content term off"]) == [percent(row["exact_match"]) for row in expected.per_length.values()]
    assert set(table["all terms on"]) == {"100.0%"}
    text = "\n".join(texts(at.markdown))
    plain = evaluate_sentences(tiny_reverser, test).evaluation
    assert markdown_escape(ablation_text("content", plain, expected)) in text
    assert at.get("plotly_chart")[-2].proto.spec  # the failures without that term, by length


def test_analysis_page_shows_how_a_figure_2_model_fails_when_its_runs_were_labelled(
    runs, monkeypatch, tmp_path, tiny_checkpoint
):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(tiny_checkpoint, shipped / "model.pt")
    scores = {"1": 1.0, "2": 0.5}
    labelled = {
        "1": {"total": 2, "failures": {"stopped early": 0}},
        "2": {"total": 2, "failures": {"stopped early": 1}},
    }
    figure = {"command": "python benchmarks/paper_figure.py", "updates": 5, "runs": [
        {"attention": kind, "max_train_length": cap, "seed": 0, "updates": 5, "exact_match_per_length": scores,
         "token_accuracy_per_length": scores} | ({"failures_per_length": labelled} if kind == "location" else {})
        for kind in ("encdec", "additive", "location") for cap in (1, 2)
    ]}  # fmt: skip
    (shipped / "paper_figure.json").write_text(json.dumps(figure))
    monkeypatch.setenv(CHECKPOINT_ENV, str(shipped / "model.pt"))
    at = open_app("pages/analysis.py")
    picker = at.selectbox(key="figure_failures_model")
    assert picker.options == [
        "location-aware attention, trained on ≤1 words",
        "location-aware attention, trained on ≤2 words",
    ]  # only the runs scored with failure labels
    (chart,) = [c for c in at.get("plotly_chart") if "summed over the seeds" in c.proto.spec]
    spec = json.loads(chart.proto.spec)
    assert [trace["y"] for trace in spec["data"] if trace["name"] == "stopped early"] == [[0, 1]]


# ------------------------------------------------------------------------------------------------- other models
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
    if page not in ("pages/train.py", "pages/runs.py"):  # the pages that show the active model say what it is
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
    assert texts(at.text)[:2] == ["sat wug the", "sat wug the"]
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
    assert texts(at.text)[0] == "sat cat the"
    assert any("cannot be used now" in w for w in texts(at.sidebar.warning))


# ------------------------------------------------------------------------------------------------- speed
def test_the_app_validates_many_times_in_the_first_epoch_on_a_subset_and_says_so(runs):
    """The command line validates once an epoch; the Train page, watched by a person, validates 20 times an epoch on a
    subset by default, so its curves move from the first seconds, and the page says which sentences count."""
    at = open_app("pages/train.py")
    tiny_settings(at, epochs=1)
    assert at.number_input(key="evals_per_epoch").value == 20 and at.number_input(key="valid_subset").value == 200
    at.number_input(key="valid_subset").set_value(10)
    at.button(key="start_training").click().run()
    wait_for_run_end(at)
    (run_dir,) = run_folders(runs)
    with open(run_dir / "history.csv", newline="") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs.count(1) >= 3, epochs
    assert any(
        "Validated 20 times an epoch on the first 10 of the 30 validation sentences" in c for c in texts(at.caption)
    )


def test_try_it_answers_a_sentence_seen_before_from_the_cache(runs, monkeypatch):
    """A sentence typed again, in this session or another, is neither decoded nor drawn again."""
    decoded = []
    heatmap_figure = warm_up.heatmap_figure
    monkeypatch.setattr(warm_up, "heatmap_figure", lambda *args: decoded.append(args) or heatmap_figure(*args))
    for _ in range(2):
        at = open_app()
        at.text_input(key="sentence").input("the red dog ran").run()
        assert texts(at.text)[:2] == ["ran dog red the"] * 2
    assert len(decoded) == 1


def test_try_it_shows_the_reversal_before_it_builds_the_heatmap(runs, monkeypatch):
    """Building a heatmap figure takes tens of milliseconds: the answer's words go to the browser first."""
    order = []
    heatmap_figure = warm_up.heatmap_figure
    monkeypatch.setattr(warm_up, "heatmap_figure", lambda *args: order.append("figure") or heatmap_figure(*args))
    words_box = widgets.words_box
    monkeypatch.setattr(widgets, "words_box", lambda *args, **kw: order.append("words") or words_box(*args, **kw))
    at = open_app()
    at.text_input(key="sentence").input("the big red dog ran").run()
    assert order == ["words", "words", "figure"]  # the model's reversal and the true one, then the heatmap


def test_the_server_warms_what_a_first_visit_needs(runs, monkeypatch, tmp_path, tiny_checkpoint):
    """``streamlit_app.py`` calls ``warm_up`` before the server answers anyone: afterwards a first visit's example
    sentence is neither loaded, decoded nor drawn, a first Compare loads no model and a first Decoder decodes
    nothing, and the default corpus is ready for a Start."""
    shipped = tmp_path / "artifacts"
    # A default and four other shipped models beside it: one more than the model cache keeps.
    for place in (shipped, *(shipped / name for name in "abcd")):
        place.mkdir()
        shutil.copy(tiny_checkpoint, place / "model.pt")
    monkeypatch.setenv(CHECKPOINT_ENV, str(shipped / "model.pt"))
    warm_up.typed_sentence.clear()
    session.model_cache().clear()
    before = session.model_cache().loads
    gc.unfreeze()
    try:
        warm_up.warm_up()
        # What it made is set aside from garbage collection: a full collection walks only what comes after.
        assert gc.get_freeze_count() > 10 * len(gc.get_objects())
    finally:
        gc.unfreeze()  # this test process goes on as it was
    loads = session.model_cache().loads
    assert len(shipped_models()) == 5 and training.default_corpus().done()
    assert loads == before + session.model_cache().max_entries  # as many as it keeps, the default among them
    default = session.model_cache().get(default_checkpoint_path())
    assert session.model_cache().loads == loads
    decoded = default.decode_runs
    default.decode(checked_tokens(SHOWCASE_SENTENCE), record=True)  # the Decoder's opening decode
    assert default.decode_runs == decoded
    drawn = []
    monkeypatch.setattr(warm_up, "heatmap_figure", lambda *args: drawn.append(args))
    at = open_app()
    at.button(key="example_0").click().run()
    assert texts(at.text)[1] == "mat the on sat cat the"  # the true reversal, beside the model's
    assert drawn == [] and session.model_cache().loads == loads
    open_app("pages/compare.py")
    assert session.model_cache().loads == loads


def test_warming_a_server_whose_default_model_is_broken_leaves_the_page_to_say_why(runs, monkeypatch, tmp_path):
    broken = tmp_path / "model.pt"
    broken.write_bytes(b"not a checkpoint")
    monkeypatch.setenv(CHECKPOINT_ENV, str(broken))
    try:
        warm_up.warm_up()  # no exception: the server starts
    finally:
        gc.unfreeze()
    assert any("cannot be loaded" in e for e in texts(open_app().error))


def test_try_it_draws_its_text_box_before_it_imports_torch():
    """The first paint of a cold server waits for nothing heavy: everything above the text box, the box included, is
    drawn by code that imports neither torch nor the app's modules (``ui.links`` imports them only in its functions);
    only a link's first view imports them before, to put its sentence in the box."""
    source = (REPO / "pages" / "try_it.py").read_text()
    first_paint = source[source.index("# ---") : source.index("from ui import session  # noqa: E402")]
    assert "try_a_sentence()" in first_paint and "session." not in first_paint
    top = source[: source.index("INTRO = ")]
    assert not re.search(r"^\s*(import|from) (torch|pandas|plotly|seq2seq)", top, re.MULTILINE)
    assert re.findall(r"^from ui import (.+)$", top, re.MULTILINE) == ["links"]
    for light in ("ui/__init__.py", "ui/links.py"):
        shell = (REPO / light).read_text()
        assert not re.search(r"^(import|from) (torch|pandas|plotly|seq2seq|ui)", shell, re.MULTILINE), light


def test_the_live_curves_are_built_once_per_run_and_follow_it(runs, monkeypatch):
    """A redraw at a new moment of the run moves the shared figure's data instead of building another figure; what
    every watching session draws is the run's latest history."""
    built = record_training_figures(monkeypatch)
    at = train_page_after_a_tiny_run(epochs=2)
    (run_dir,) = run_folders(runs)
    with open(run_dir / "history.csv", newline="") as handle:
        matches = [100 * float(row["valid_exact_match"]) for row in csv.DictReader(handle)]
    for tab in (at, open_app("pages/train.py")):
        figure = json.loads(tab.get("plotly_chart")[0].proto.spec)
        (curve,) = [trace for trace in figure["data"] if trace["name"] == "valid exact match (%)"]
        assert curve["y"] == pytest.approx(matches)
    assert len(built) <= 2  # one per run, and one more while its number of steps was not known yet


def test_the_default_corpus_is_generated_once_in_the_background_and_a_default_start_uses_it():
    future = training.default_corpus()
    assert training.default_corpus() is future  # once per server
    data = training.prepared_corpus(Config(evals_per_epoch=20, valid_subset=200, lr=1e-3))  # training settings differ
    assert data is future.result() and data.splits.valid == load_run_data(Config()).splits.valid
    assert training.prepared_corpus(Config(corpus_size=500)) is None  # another corpus: the worker generates it
    assert training.prepared_corpus(Config(seed=1)) is None


def runs_page_with_two_finished_runs(runs, tiny_checkpoint) -> AppTest:
    """The Runs page listing two finished runs of the tiny model, 20250101-120000 and 20250102-120000."""
    for name in ("20250101-120000", "20250102-120000"):
        (runs / name).mkdir(parents=True)
        shutil.copy(tiny_checkpoint, runs / name / "model.pt")
        write_run_info(runs / name, {"status": "finished", "started_at": 0, "test": {"exact_match": 1.0}})
    return open_app("pages/runs.py")


def test_make_active_on_a_run_deleted_in_another_session_activates_nothing_else(runs, tiny_checkpoint):
    """The run list is drawn, another session deletes the picked run, then Make active is clicked: the click names
    the run that was shown, so no other run takes its place."""
    at = runs_page_with_two_finished_runs(runs, tiny_checkpoint)
    at.selectbox(key="run_choice").set_value("20250101-120000").run()
    delete_run(runs, "20250101-120000")  # another session's Delete
    at.button(key="activate_run").click().run()
    assert not at.exception, at.exception
    assert "shipped default" in texts(at.sidebar.markdown)
    assert any("Not made active: 20250101\\-120000 is no longer" in e for e in texts(at.error)), texts(at.error)


def test_a_delete_check_given_for_a_run_deleted_elsewhere_does_not_pass_to_the_next_run(runs, tiny_checkpoint):
    """Run X picked and "for good" ticked, X deleted in another session, Delete clicked: refused, and the list falls
    to run Y with the check box cleared, so a second click cannot delete Y, which nobody confirmed."""
    at = runs_page_with_two_finished_runs(runs, tiny_checkpoint)
    at.selectbox(key="delete_choice").set_value("20250101-120000").run()
    at.checkbox(key="delete_confirm").check().run()
    assert not at.button(key="delete_run").disabled
    delete_run(runs, "20250101-120000")  # another session's Delete
    at.button(key="delete_run").click().run()
    assert not at.exception, at.exception
    assert any("Not deleted" in e for e in texts(at.error))
    assert at.selectbox(key="delete_choice").value == "20250102-120000"
    assert not at.checkbox(key="delete_confirm").value and at.button(key="delete_run").disabled
    at.selectbox(key="delete_choice").set_value("20250102-120000").run()  # any rerun: still not confirmed
    assert at.button(key="delete_run").disabled and (runs / "20250102-120000").is_dir()
