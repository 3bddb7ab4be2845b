"""The Figure 2 script (benchmarks/paper_figure.py) at --tiny, and the library that reads and draws its output."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq.failures import FAILURES
from seq2seq.paper_figure import check_paper_figure, failures_per_length, findings, load_paper_figure, series
from seq2seq.plots import paper_figure

ROOT = Path(__file__).resolve().parents[2]


def run_script(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "paper_figure.py"), "--tiny", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_tiny_run_trains_every_model_and_cap_with_equal_updates_and_scores_every_length(tmp_path):
    out = tmp_path / "fig.json"
    process = run_script(out)
    assert process.returncode == 0, process.stderr
    data = json.loads(out.read_text())
    runs = data["runs"]
    assert {(r["attention"], r["max_train_length"]) for r in runs} == {
        (kind, cap) for kind in ("encdec", "additive", "location", "stop") for cap in (3, 5)
    }
    assert data["updates"] > 0 and all(r["updates"] == data["updates"] for r in runs)
    for run in runs:  # every length from 1 to twice the long cap, on both metrics
        assert list(run["exact_match_per_length"]) == [str(n) for n in range(1, 11)]
        assert list(run["token_accuracy_per_length"]) == [str(n) for n in range(1, 11)]
    assert data["command"].startswith("python benchmarks/paper_figure.py") and "--tiny" in data["command"]
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert "plotly" in out.with_suffix(".html").read_text()
    assert load_paper_figure(out)[0] is not None
    for run in runs:  # every wrong decode of every length has its failure label
        table = run["failures_per_length"]
        assert list(table) == [str(n) for n in range(1, 11)]
        for n, row in table.items():
            wrong = row["total"] - round(run["exact_match_per_length"][n] * row["total"])
            assert sum(row["failures"].values()) == wrong
        assert run["attention"] != "encdec" or not any(row["failures"]["attention drifted"] for row in table.values())
    # running it again resumes: nothing left to train, the same runs come back, also from a file written before a
    # setting existed (its config has no "stop": the readout's, as in an old checkpoint)
    del data["settings"]["config"]["stop"]
    out.write_text(json.dumps(data))
    again = run_script(out)
    assert again.returncode == 0 and "cap 3 seed 0:" not in again.stderr
    assert json.loads(out.read_text())["runs"] == runs


def fake(kind: str, cap: int, seed: int, exact: dict[str, float]) -> dict:
    return {"attention": kind, "max_train_length": cap, "seed": seed, "updates": 5,
            "exact_match_per_length": exact, "token_accuracy_per_length": exact}  # fmt: skip


def test_series_average_the_seeds_and_keep_their_range():
    data = {"runs": [fake("additive", 10, 0, {"1": 1.0, "2": 0.5}), fake("additive", 10, 1, {"1": 0.8, "2": 0.7}),
                     fake("encdec", 10, 0, {"1": 0.2, "2": 0.0})], "command": "x", "updates": 5}  # fmt: skip
    encdec, additive = series(check_paper_figure(data))
    assert encdec.attention == "encdec" and encdec.seeds == 1
    assert additive.lengths == [1, 2] and additive.mean == pytest.approx([0.9, 0.6])
    assert additive.low == [0.8, 0.5] and additive.high == [1.0, 0.7]
    figure = paper_figure(data)
    lines = [trace for trace in figure.data if trace.mode == "lines+markers"]
    assert [trace.name for trace in lines] == [encdec.label, additive.label]
    assert list(lines[1].y) == pytest.approx([0.9, 0.6])


def test_failures_per_length_sum_the_seeds_and_are_absent_for_runs_scored_without_them():
    def counts(**nonzero) -> dict:
        return dict.fromkeys(FAILURES, 0) | {label.replace("_", " "): n for label, n in nonzero.items()}

    first, second = fake("additive", 10, 0, {"1": 1.0, "2": 0.5}), fake("additive", 10, 1, {"1": 1.0, "2": 0.0})
    first["failures_per_length"] = {"2": {"total": 2, "failures": counts(stopped_early=1)}}
    second["failures_per_length"] = {"2": {"total": 2, "failures": counts(stopped_early=1, wrong_word=1)}}
    data = check_paper_figure({"runs": [first, second, fake("encdec", 10, 0, {"1": 0.0})], "command": "x",
                               "updates": 5})  # fmt: skip
    assert failures_per_length(data, "additive", 10) == {
        "2": {"total": 4, "failures": counts(stopped_early=2, wrong_word=1)}
    }
    assert failures_per_length(data, "encdec", 10) is None and failures_per_length(data, "location", 10) is None
    second["failures_per_length"]["2"]["failures"]["lost"] = 1
    with pytest.raises(ValueError, match="failures_per_length"):
        check_paper_figure(data)


@pytest.mark.parametrize(
    "bad",
    [[], {"runs": 3}, {"runs": [fake("magic", 10, 0, {"1": 1.0})]}, {"runs": [fake("encdec", 10, 0, {"1": 2.0})]},
     {"runs": [fake("encdec", 10, 0, {"one": 1.0})]}],
)  # fmt: skip
def test_unusable_figure_data_is_refused_with_a_reason(tmp_path, bad):
    path = tmp_path / "fig.json"
    path.write_text(json.dumps(bad))
    data, error = load_paper_figure(path)
    assert data is None and error.startswith("fig.json cannot be used")
    assert load_paper_figure(tmp_path / "missing.json") == (None, None)


def test_findings_are_checked_against_the_numbers():
    def flat(kind, cap, value):
        return fake(kind, cap, 0, {str(n): value(n) for n in range(1, 41)})

    data = {"runs": [flat("encdec", 10, lambda n: max(0.0, 1 - n / 8)),
                     flat("encdec", 20, lambda n: max(0.0, 1 - n / 10)),
                     flat("additive", 10, lambda n: 1.0 if n <= 12 else 0.2), flat("additive", 20, lambda n: 1.0),
                     flat("location", 20, lambda n: 1.0)], "command": "x", "updates": 5}  # fmt: skip
    found = findings(check_paper_figure(data))
    assert len(found) == 6 and all(f.holds for f in found)
    assert "additive 1.000 vs encoder–decoder 0.225" in found[0].measured
    data["runs"][3] = flat("additive", 20, lambda n: 1.0 if n <= 10 else 0.0)  # deteriorates with length
    assert not findings(check_paper_figure(data))[2].holds


def test_keeping_its_place_past_the_trained_length_is_found_per_model():
    """The 2014 attention collapses past its trained length while the location-aware one holds: one finding each,
    never a single "attention keeps its place — holds" for both."""
    curves = {"encdec": lambda n: 0.0, "additive": lambda n: 1.0 if n <= 20 else 0.007,
              "location": lambda n: 1.0 if n <= 20 else 0.989, "stop": lambda n: 1.0}  # fmt: skip
    runs = [fake(kind, cap, 0, {str(n): curve(n) for n in range(1, 41)}) for cap in (10, 20)
            for kind, curve in curves.items()]  # fmt: skip
    data = {"runs": runs, "command": "x", "updates": 5}
    past = [f for f in findings(check_paper_figure(data)) if "Past the trained length" in f.claim]
    assert [("2014 additive" in f.claim, f.holds) for f in past] == [(True, False), (False, True), (False, True)]
    assert "location-aware attention trained on ≤20: 1.000 on 1–20 words, 0.989 on 21–40" in past[1].measured
    stop = "location-aware attention without a query, stop read from the attention"
    assert f"{stop} trained on ≤20: 1.000 on 1–20 words, 1.000 on 21–40" in past[2].measured


def test_the_stop_model_is_a_line_of_its_own_named_by_its_settings():
    data = {"runs": [fake("stop", 20, 0, {"1": 1.0}), fake("location", 20, 0, {"1": 0.5})], "command": "x",
            "updates": 5}  # fmt: skip
    location, stop = series(check_paper_figure(data))
    assert (location.attention, stop.attention) == ("location", "stop")
    assert stop.label == "location-aware attention without a query, stop read from the attention, trained on ≤20 words"
    colors = {trace.line.color for trace in paper_figure(data).data if trace.mode == "lines+markers"}
    assert len(colors) == 2
