"""Deep links: parsing and bounding query parameters (seq2seq.app.links)."""

import pytest

from seq2seq.app.links import MAX_STEP, link_params, model_for_name, model_name, parse_link
from seq2seq.app.runs import write_run_info
from seq2seq.paths import CHECKPOINT_ENV


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "default.pt"))
    root = tmp_path / "runs"
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
        ({"step": str(MAX_STEP + 1)}, {}, "was ignored"),
        ({"step": "1e9", "sentence": "a b"}, {"sentence": "a b"}, "was ignored"),
        ({"step": "²"}, {}, "was ignored"),  # a digit to str.isdigit, not to int(): it raised ValueError
        ({"step": "٣"}, {}, "was ignored"),
        ({"step": "9" * 5_000}, {}, "was ignored"),  # int() refuses over 4,300 digits: it raised ValueError
        ({"step": "0" * 5_000 + "3"}, {}, "was ignored"),
        ({"model": "../../etc/passwd"}, {}, "not a trained run here"),
        ({"model": "/work/artifacts/model.pt"}, {}, "not a trained run here"),
        ({"model": "20250101-130000"}, {}, "not a trained run here"),
        ({"model": ".deleting-x"}, {}, "not a trained run here"),
        ({"<script>alert(1)</script>" * 5: "1"}, {}, "…"),
    ],
)
def test_unknown_or_hostile_parameters_are_dropped_with_a_note(runs, params, kept, note):
    link = parse_link(params, runs)
    assert len(link.notes) == 1 and note in link.notes[0]
    assert link.sentence == kept.get("sentence") and link.step is None and link.model is None


def test_only_listed_runs_with_a_model_are_models(runs):
    assert model_for_name("20250101-120000", runs) == runs / "20250101-120000" / "model.pt"
    for name in ["20250101-130000", "", "..", "20250101-120000/model.pt", "nope"]:
        assert model_for_name(name, runs) is None


def test_link_params_round_trip(runs):
    checkpoint = runs / "20250101-120000" / "model.pt"
    assert model_name(checkpoint, runs) == "20250101-120000"
    assert model_name(None, runs) == "default"
    params = link_params(" the cat ", 2, None)
    assert params == {"sentence": "the cat", "step": "2"}
    assert parse_link(params, runs).step == 2
