"""Deep links: parsing and bounding query parameters (seq2seq.app.links)."""

import pytest
from streamlit.runtime.state.query_params import sanitize_query_string

from seq2seq.app.links import (
    MAX_STEP,
    MAX_TRAINING_STEP,
    link_params,
    model_for_name,
    model_name,
    parse_link,
    step_limit,
)
from seq2seq.app.runs import RUNS_ENV, write_run_info
from seq2seq.fileio import FolderLock
from seq2seq.paths import CHECKPOINT_ENV
from seq2seq.tokenize import MAX_ECHO_CHARS


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "default.pt"))
    root = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(root))
    run = root / "20250101-120000"
    run.mkdir(parents=True)
    write_run_info(run, {"status": "finished"})
    (run / "model.pt").write_bytes(b"x")
    (root / "20250101-130000").mkdir()  # a run without a model
    return root


def test_a_good_link_is_read_whole(runs):
    link = parse_link({"sentence": "the  cat sat", "step": "3", "model": "20250101-120000"}, runs)
    assert (link.sentence, link.step, link.model, link.notes) == (
        "the cat sat",
        3,
        runs / "20250101-120000" / "model.pt",
        [],
    )
    assert parse_link({"model": "default"}, runs).model.name == "default.pt"


@pytest.mark.parametrize(
    "params, kept, note",
    [
        ({"colour": "red"}, {}, "'colour' is not one this app reads"),
        ({"sentence": ""}, {}, "sentence was ignored: The sentence is empty"),
        ({"sentence": "x " * 101}, {}, "the limit is 100"),
        ({"sentence": "y" * 3000}, {}, "the limit is 2,000"),
        ({"step": "0"}, {}, "step '0' was ignored"),
        ({"step": "-1"}, {}, "was ignored"),
        ({"step": "3.5"}, {}, "was ignored"),
        ({"step": str(MAX_STEP + 1)}, {}, f"a whole number from 1 to {MAX_STEP}"),
        ({"step": "0000"}, {}, f"a whole number from 1 to {MAX_STEP}"),
        ({"step": "1e9", "sentence": "a b"}, {"sentence": "a b"}, "was ignored"),
        ({"step": "²"}, {}, "was ignored"),  # a digit to str.isdigit, not to int(): it raised ValueError
        ({"step": "٣"}, {}, "was ignored"),
        ({"step": "9" * 5_000}, {}, "was ignored"),  # int() refuses over 4,300 digits: it raised ValueError
        ({"step": "0" * 5_000 + "1000"}, {}, "was ignored"),
        ({"model": "../../etc/passwd"}, {}, "nor a trained run here"),
        ({"model": "/work/artifacts/model.pt"}, {}, "nor a trained run here"),
        ({"model": "20250101-130000"}, {}, "nor a trained run here"),
        ({"model": ".deleting-x"}, {}, "nor a trained run here"),
        ({"model": "runs/default"}, {}, "nor a trained run here"),
        ({"<script>alert(1)</script>" * 5: "1"}, {}, "…"),
    ],
)
def test_unknown_or_hostile_parameters_are_dropped_with_a_note(runs, params, kept, note):
    link = parse_link(params, runs)
    assert len(link.notes) == 1 and note in link.notes[0]
    assert link.sentence == kept.get("sentence") and link.step is None and link.model is None


def test_only_listed_runs_with_a_model_are_models(runs):
    assert model_for_name("20250101-120000", runs) == (runs / "20250101-120000" / "model.pt", None)
    for name in ["20250101-130000", "", "..", "20250101-120000/model.pt", "nope"]:
        assert model_for_name(name, runs)[0] is None


def test_link_params_round_trip(runs):
    checkpoint = runs / "20250101-120000" / "model.pt"
    assert model_name(checkpoint, runs) == "20250101-120000"
    assert model_name(None, runs) == "default"
    params = link_params(" the cat ", 2, None)
    assert params == {"sentence": "the cat", "step": "2", "model": "default"}
    assert parse_link(params, runs).step == 2


@pytest.mark.parametrize(
    "step", ["3", "03", "0003", " 3 ", "0" * 5_000 + "3"], ids=["3", "03", "0003", "spaced", "zeros"]
)
def test_leading_zeros_in_a_step_are_read_past_however_many(runs, step):
    assert parse_link({"step": step}, runs).step == 3


def test_a_run_still_training_cannot_be_named_in_a_link(runs):
    """The picker and the Runs page offer no run that is still training; a link cannot make one the model either."""
    run = runs / "20250101-120000"
    write_run_info(run, {"status": "running"})
    link = parse_link({"model": run.name}, runs, live_run_dir=run)  # the run this server trains now
    assert link.model is None and "still training" in link.notes[0]
    write_run_info(run, {"status": "finished"})
    with FolderLock(run):  # trained into by another process
        link = parse_link({"model": run.name}, runs)
    assert link.model is None and "still training" in link.notes[0]
    assert parse_link({"model": run.name}, runs).model == run / "model.pt"  # once it has finished


TRAIN_READS = ("model", "run", "step")


def test_a_replay_link_names_a_run_and_a_training_step(runs):
    """``/Train?run=NAME&step=N``: the run is named as a model is, and its step is a training step, far past a
    decoder's."""
    assert (step_limit(TRAIN_READS), step_limit(("model", "sentence", "step"))) == (MAX_TRAINING_STEP, MAX_STEP)
    run = runs / "20250101-120000"
    link = parse_link({"run": run.name, "step": "1314"}, runs, reads=TRAIN_READS, most_step=MAX_TRAINING_STEP)
    assert (link.run, link.step, link.notes) == (run / "model.pt", 1314, [])
    assert parse_link({"step": "1314"}, runs).step is None  # on a decoder's page, no such step
    link = parse_link({"run": "nope", "step": str(MAX_TRAINING_STEP + 1)}, runs, reads=TRAIN_READS,
                      most_step=MAX_TRAINING_STEP)  # fmt: skip
    assert link.run is None and link.step is None and len(link.notes) == 2
    assert "The link's run 'nope' is not a shipped model" in link.notes[1]
    write_run_info(run, {"status": "running"})  # the run training now may be replayed as it goes
    assert parse_link({"run": run.name}, runs, live_run_dir=run, reads=TRAIN_READS).run == run / "model.pt"
    params = link_params(None, 266, None, run / "model.pt")
    assert params == {"step": "266", "model": "default", "run": run.name}


def test_every_model_the_picker_offers_has_a_name_that_round_trips(runs, tmp_path):
    """The shipped default, the shipped models beside it and every finished run (one named like a shipped model
    too): the name written for each reads back as the same checkpoint, with no note."""
    for folder in ["additive", "encdec"]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "model.pt").write_bytes(b"x")
    clash = runs / "additive"
    clash.mkdir()
    write_run_info(clash, {"status": "finished"})
    (clash / "model.pt").write_bytes(b"x")
    checkpoints = {
        "default": tmp_path / "default.pt",
        "additive": tmp_path / "additive" / "model.pt",
        "encdec": tmp_path / "encdec" / "model.pt",
        "20250101-120000": runs / "20250101-120000" / "model.pt",
        "runs/additive": clash / "model.pt",
    }
    for name, checkpoint in checkpoints.items():
        params = link_params("the cat", None, checkpoint)
        assert params["model"] == name
        link = parse_link(params, runs)
        assert link.model.resolve() == checkpoint.resolve() and link.notes == []
    assert model_name(tmp_path / "elsewhere.pt", runs) is None
    assert "model" not in link_params("the cat", None, tmp_path / "elsewhere.pt")


def test_many_unknown_parameters_get_one_short_note(runs):
    params = {f"p{i}": "x" for i in range(500)} | {"sentence": "the cat"}
    link = parse_link(params, runs)
    assert link.sentence == "the cat" and len(link.notes) == 1
    assert "500 parameters 'p0', 'p1', 'p2', …" in link.notes[0] and len(link.notes[0]) < 200


@pytest.mark.parametrize("name", ["model", "colour"])
def test_a_long_value_or_name_is_echoed_cut_short(runs, name):
    params = {"model": "w" * 10_000} if name == "model" else {"w" * 10_000: "1"}
    (note,) = parse_link(params, runs).notes
    assert "w" * (MAX_ECHO_CHARS - 1) + "…" in note and "w" * MAX_ECHO_CHARS not in note


def test_streamlit_drops_a_query_of_over_1000_parameters_before_any_page_runs():
    """Known and documented, not something a page can report: Streamlit empties a query string of more than 1,000
    parameters (or over 512 Ki characters) before the script runs and logs one warning, so ``st.query_params`` is
    empty and ``st.context.url`` carries no query; the page opens as if there were no link. This notices a Streamlit
    that changes the rule; up to the limit, unknown parameters get the one note above."""
    kept = "&".join(f"p{i}=x" for i in range(999)) + "&sentence=the+cat"
    assert sanitize_query_string(kept) == kept
    assert sanitize_query_string(kept + "&one=more") == ""


def test_a_parameter_the_page_does_not_use_is_dropped_with_a_note(runs):
    """Try it reads no step, Examples no sentence: a link's step or sentence there was dropped without a word."""
    link = parse_link({"sentence": "the cat", "step": "2", "model": "default"}, runs, reads=("model",))
    assert link.sentence is None and link.step is None and link.model is not None
    assert link.notes == ["This page does not use the link's sentence or step; it was ignored."]
    assert parse_link({"sentence": "the cat", "step": "2"}, runs).notes == []  # the Decoder reads all three


LEARN_READS = ("model", "lesson", "step", "class")  # the Learn page's, as streamlit_app.PAGES lists them


def test_a_lesson_link_is_read_and_written_back(runs):
    link = parse_link({"lesson": "2", "step": "03", "class": "Ab-9_x"}, runs, reads=LEARN_READS)
    assert (link.lesson, link.step, link.class_code, link.notes) == (2, 3, "Ab-9_x", [])
    assert link_params(None, 3, None, lesson=2, class_code="Ab-9_x") == {
        "lesson": "2",
        "step": "3",
        "class": "Ab-9_x",
        "model": "default",
    }


@pytest.mark.parametrize(
    "params, note",
    [
        ({"lesson": "0"}, "lesson '0' was ignored: it must be a whole number from 1 to 99"),
        ({"lesson": "two"}, "lesson 'two' was ignored"),
        ({"lesson": "100"}, "lesson '100' was ignored"),
    ],
)
def test_a_bad_lesson_is_dropped_with_a_note(runs, params, note):
    link = parse_link(params, runs, reads=LEARN_READS)
    assert link.lesson is None
    assert len(link.notes) == 1 and note in link.notes[0]


def test_a_pages_own_parameters_are_left_to_it_without_a_note(runs):
    """Class reads ``class`` and ``key`` itself: no note for them there, and one on a page that does not read them."""
    params = {"class": "abcdefghjk", "key": "secret", "model": "default"}
    assert parse_link(params, runs, reads=("model", "class", "key")).notes == []
    (note,) = parse_link(params, runs, reads=("model",)).notes
    assert "'class', 'key'" in note and "are not ones this app reads" in note
