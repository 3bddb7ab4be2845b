"""The Compare page and the sidebar's model picker, on three tiny shipped models (location-aware default, 2014
additive, encoder-decoder): through AppTest (the browser's view is in ``tests/browser/test_compare.py``)."""

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from seq2seq.app import views
from seq2seq.app.models import model_label, model_options, shipped_models
from seq2seq.app.runs import RUNS_ENV, write_run_info
from seq2seq.app.views import MAX_COMPARED, compare_selection, example_labels, markdown_escape
from seq2seq.checkpoint import load_checkpoint, save_checkpoint
from seq2seq.decoding import Reverser
from seq2seq.evaluation import evaluate_sentences
from seq2seq.failures import FAILURES, failures_text
from seq2seq.paths import CHECKPOINT_ENV
from tests.app.conftest import APP

COMPARE = "pages/compare.py"

KINDS = ["location-aware attention", "2014 additive attention", "encoder–decoder, no attention"]


@pytest.fixture
def env(monkeypatch, tmp_path, shipped) -> Path:
    monkeypatch.setenv(CHECKPOINT_ENV, str(shipped))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    return shipped


def test_shipped_models_are_the_default_and_its_sibling_folders(env):
    folder = env.parent
    assert shipped_models() == [env, folder / "additive" / "model.pt", folder / "encdec" / "model.pt"]
    assert [model_label(p) for p in shipped_models()] == ["shipped default", "shipped additive", "shipped encdec"]
    assert list(model_options().values()) == ["shipped default", "shipped additive", "shipped encdec"]


def test_compare_shows_every_shipped_model_side_by_side(env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(COMPARE).run()
    assert not at.exception, at.exception
    assert any("past the trained length" in b.label for b in at.button)  # the long suggestion
    at.text_input(key="compare_sentence").input("the cat sat").run()
    assert not at.exception, at.exception
    stop_title = f"**{markdown_escape('p(<eos>) at every step')}**"
    headers = [m.value for m in at.main.markdown if m.value.startswith("**") and m.value != stop_title]
    assert headers == [f"**{markdown_escape(k)}**" for k in KINDS]
    assert len(at.main.text) == 3  # one reversal per model
    charts = [json.loads(chart.proto.spec) for chart in at.main.get("plotly_chart")]
    stops = [c for c in charts if "eos" in c["layout"]["yaxis"]["title"]["text"]]
    assert len(charts) - len(stops) == 2  # the two attention models draw heatmaps
    assert len(stops) == 3 and [m.value for m in at.main.markdown].count(stop_title) == 3  # p(<eos>) for every model
    stops_told = [c.value for c in at.main.caption if "the reversal of 3 words ends at step 4" in c.value]
    assert len(stops_told) == 3
    at.toggle(key="compare_failures").set_value(True).run()  # each model's failures over its own test split
    assert not at.exception, at.exception
    told = [m.value for m in at.main.markdown if " decodes are wrong" in m.value or m.value.startswith("None of the")]
    assert len(told) == 3
    for path, text in zip(shipped_models(), told, strict=True):
        evaluation = evaluate_sentences(Reverser.load(path), load_checkpoint(path).test_sentences).evaluation
        assert text == failures_text(evaluation.failures, evaluation.total)
    drawn = [c for c in at.main.get("plotly_chart") if "Wrong decodes by length" in c.proto.spec]
    assert len(drawn) == sum(not t.startswith("None of the") for t in told) >= 1
    (note,) = [i.value for i in at.main.info if "no attention to show" in i.value]
    assert "last state" in note


def test_the_long_suggestion_says_why_the_encoder_decoder_has_no_heatmap(env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(COMPARE).run()
    long = [b for b in at.button if "past the trained length" in b.label][-1]
    long.click().run()
    assert not at.exception, at.exception
    assert any("more than the 4 of the longest example it trained on" in i.value for i in at.main.info)
    failed = [e.value.replace("\\", "") for e in at.main.error if e.value.startswith("No match")]
    assert failed and all(any(f"No match: {label} (" in e for label in FAILURES) for e in failed)


def test_compare_opens_with_a_sentence_past_the_trained_length_compared_and_a_link_overrides_it(env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(COMPARE).run()
    assert not at.exception, at.exception
    sentence = at.text_input(key="compare_sentence").value
    assert len(sentence.split()) > 4  # longer than any sentence the tiny models trained on
    assert len(at.main.text) == 3  # compared at once: one reversal per model
    assert any("more than the 4 of the longest example it trained on" in i.value for i in at.main.info)
    linked = AppTest.from_file(APP, default_timeout=60).run()
    linked.switch_page(COMPARE)
    linked.query_params["sentence"] = "the cat sat"
    linked.run()
    assert not linked.exception, linked.exception
    assert linked.text_input(key="compare_sentence").value == "the cat sat"
    assert len(linked.main.text) == 3 and linked.main.text[0].value == "sat cat the"  # the default model's


def test_past_the_trained_length_counts_the_joined_examples_a_model_trained_on(env, tmp_path, monkeypatch):
    """Models that trained on joined pairs saw examples twice as long as their corpus's longest sentence: a sentence
    between the two is not past their trained length, and the no-attention note names the longest example."""
    folder = shutil.copytree(env.parent, tmp_path / "artifacts")
    for path in (folder / "model.pt", folder / "encdec" / "model.pt"):
        checkpoint = load_checkpoint(path)
        data = checkpoint.metrics["data"]
        assert data["seen_max_length"] == data["train_max_length"] == 4  # the tiny corpus, trained without joins
        data["seen_max_length"] = 8  # as training with join_share > 0 records it
        save_checkpoint(checkpoint, path)
    monkeypatch.setenv(CHECKPOINT_ENV, str(folder / "model.pt"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(COMPARE).run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.button if b.key and b.key.startswith("compare_example_")]
    past = [label for label in labels if "past the trained length" in label]
    assert past and all(int(label.split()[0]) > 8 for label in past), labels  # "9 words: … (past the trained length)"
    at.text_input(key="compare_sentence").input("the cat sat on a big red mat").run()  # 8 words: within
    assert not at.exception, at.exception
    (note,) = [i.value for i in at.main.info if "no attention to show" in i.value]
    assert "more than" not in note
    at.text_input(key="compare_sentence").input("the cat sat on a big red mat the dog").run()
    assert any("10 words, more than the 8 of the longest example it trained on" in i.value for i in at.main.info)


def test_the_example_buttons_differ_from_their_first_characters(env, monkeypatch):
    """The two long suggestions (here 30 and 46 words, as long as the shipped models' are) start with the same words:
    cut short by a narrow button, their labels must still differ."""
    joined = views.longer_than_trained
    monkeypatch.setattr(views, "longer_than_trained", lambda tests, longest, factor: joined(tests, 5 * longest, factor))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(COMPARE).run()
    labels = [b.label.replace("\\", "") for b in at.button if b.key and b.key.startswith("compare_example_")]
    assert len(labels) >= 3 and len({label[:24] for label in labels}) == len(labels), labels
    assert all(len(label) <= 80 for label in labels)


def test_example_labels_are_short_and_distinct():
    long = "the cat sat on the mat and the dog ran"
    labels = example_labels(["the cat sat", long[:23], long, long + " far", long + " off"], longest_trained=5)
    assert labels == [
        "the cat sat",
        "6 words: the cat sat … (past the trained length)",
        "10 words: the cat sat … (past the trained length)",
        "11 words: the cat sat … (past the trained length)",
        "11 words: the cat sat on … (past the trained length)",
    ]


def test_the_sidebar_picks_any_shipped_model_and_every_page_names_its_kind(env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert markdown_escape("location-aware attention") in at.main.caption[0].value
    assert markdown_escape("location-aware attention") in at.sidebar.caption[0].value  # pages without a caption too
    picker = at.sidebar.selectbox(key="model_picker")
    assert picker.options == ["shipped default", "shipped additive", "shipped encdec"]
    picker.select(str(env.parent / "encdec" / "model.pt")).run()
    assert not at.exception, at.exception
    assert markdown_escape("encoder–decoder, no attention") in at.main.caption[0].value
    assert any("no attention" in w.value for w in at.warning)
    at.text_input(key="sentence").input("the cat sat").run()
    assert not at.get("plotly_chart") and any("No attention to show" in i.value for i in at.info)
    at.switch_page("pages/attention.py").run()
    assert markdown_escape("encoder–decoder, no attention") in at.main.caption[0].value  # the choice holds across pages
    picker = at.sidebar.selectbox(key="model_picker")
    picker.select(str(env)).run()
    assert (
        markdown_escape("location-aware attention") in at.main.caption[0].value
        and at.session_state["active_model_path"] is None
    )


def finished_runs(runs: Path, model: Path, count: int) -> list[str]:
    """``count`` finished runs holding a copy of ``model``; their model paths, oldest first."""
    paths = []
    for i in range(count):
        run = runs / f"20250101-1200{i:02d}"
        run.mkdir(parents=True)
        write_run_info(run, {"status": "finished"})
        shutil.copy(model, run / "model.pt")
        paths.append(str(run / "model.pt"))
    return paths


def open_compare(models: list[str]) -> tuple[AppTest, list[str]]:
    """Compare asked for ``models`` (as a session that picked them, or a link that names them), with a sentence
    typed; and the notes of its first view."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.session_state["compare_models"] = models
    at.switch_page(COMPARE).run()
    notes = [i.value for i in at.main.info]
    at.text_input(key="compare_sentence").input("the cat sat").run()
    assert not at.exception, at.exception
    return at, notes


def test_compare_takes_at_most_four_models_and_says_which_were_left_out_or_are_gone(env, tmp_path):
    runs = finished_runs(tmp_path / "runs", env, 6)
    shipped = [str(path) for path in shipped_models()]
    at, notes = open_compare(shipped + runs)
    assert len(at.main.text) == MAX_COMPARED  # one reversal per column
    assert at.multiselect(key="compare_models").value == [*shipped, runs[0]]
    assert f"At most {MAX_COMPARED}" in at.multiselect(key="compare_models").help
    (note,) = [note for note in notes if "At most" in note]
    assert all(markdown_escape(f"run {Path(path).parent.name}") in note for path in runs[1:])
    shutil.rmtree(Path(runs[0]).parent)  # deleted in another tab
    at.run()
    assert not at.exception, at.exception
    assert len(at.main.text) == 3 and at.multiselect(key="compare_models").value == shipped
    (gone,) = [i.value for i in at.main.info if "No longer on this server" in i.value]
    assert markdown_escape(f"run {Path(runs[0]).parent.name}") in gone


def test_a_run_whose_model_file_broke_after_it_was_loaded_is_compared_with_a_warning(env, tmp_path):
    (run,) = finished_runs(tmp_path / "runs", env, 1)
    at, _ = open_compare([str(env), run])
    assert len(at.main.text) == 2 and not at.main.warning
    data = Path(run).read_bytes()
    Path(run).write_bytes(data[: len(data) // 2])  # truncated after it was listed and loaded
    at.run()
    assert not at.exception, at.exception
    assert len(at.main.text) == 2  # still compared, as loaded earlier
    (warning,) = [w.value for w in at.main.warning]
    assert "cannot be used now" in warning and "compared as loaded earlier" in warning


def test_compare_selection_keeps_the_first_four_known_models_in_order():
    options = {p: p.upper() for p in "abcdef"}
    assert compare_selection(["b", "a", "b"], options) == (["b", "a"], [])
    kept, notes = compare_selection(["f", "x/gone/model.pt", "a", "b", "c", "d"], options)
    assert kept == ["f", "a", "b", "c"] and len(notes) == 2
    assert "left out of the comparison" in notes[0] and notes[1].endswith("so these were left out: D.")


def test_the_analysis_page_draws_figure_2_and_checks_the_findings(env):
    runs = [{"attention": kind, "max_train_length": cap, "seed": 0, "updates": 5,
             "exact_match_per_length": {"1": 1.0, "20": 0.5}, "token_accuracy_per_length": {"1": 1.0, "20": 0.7}}
            for kind in ("encdec", "additive", "location") for cap in (10, 20)]  # fmt: skip
    (env.parent / "paper_figure.json").write_text(json.dumps({"runs": runs, "command": "python x", "updates": 5}))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/analysis.py").run()
    assert not at.exception, at.exception
    chart = json.loads(at.get("plotly_chart")[-1].proto.spec)
    names = [trace.get("name") for trace in chart["data"] if trace.get("mode") == "lines+markers"]
    assert len(names) == 6 and names[0].startswith("encoder–decoder")
    checked = [m.value for m in at.markdown if m.value.startswith("- ") and "hold" in m.value]
    assert len(checked) == 6 and "Attention \\(RNNsearch\\) beats" in checked[0]
    text = " ".join(m.value for m in at.markdown)
    assert "seq2seq report" not in text and "live by the app's Analysis page" in text  # it computes them as it shows
    (env.parent / "paper_figure.json").unlink()
