"""Every figure the README quotes from a benchmark or from the shipped model's files is the stored one.

The benchmarks store what they measured in ``benchmarks/results/`` (``benchmarks/stored.py``); the shipped model's
figures live in ``artifacts/`` (``metrics.json``, ``history.csv``, ``ablation.json``). These tests read those files and
look for the numbers, rendered the way the README writes them, in the README.
"""

import csv
import json
from fractions import Fraction
from pathlib import Path

import pytest

from benchmarks.ablation import markdown as ablation_markdown
from benchmarks.stored import RESULTS, load

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARTIFACTS = ROOT / "artifacts"
QUOTED = ["speed-training", "speed-steps", "soak", "ablation", "user_corpus", "ci", "mutation-before", "mutation-after"]


def table_after(marker: str) -> list[str]:
    """The Markdown table that follows the first line of the README containing ``marker``."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return rows


@pytest.mark.parametrize("name", [n for n in QUOTED if not n.startswith("mutation")])
def test_every_quoted_result_says_when_where_how_and_whether_it_was_measured(name):
    record = load(name)
    assert record["benchmark"] == name
    for key in ("date", "machine", "commit", "command"):
        assert record[key], key
    assert record["source"] == "measured" or record["source"].startswith(("transcribed from", "copied from"))
    assert record["command"].startswith("python benchmarks/") or name == "ci"
    assert f"benchmarks/results/{name}" in README


@pytest.mark.parametrize("name", ["speed-training", "speed-steps", "soak"])
def test_the_readme_quotes_the_stored_tables_verbatim(name):
    stored = load(name)["markdown"].strip()
    assert stored in README, f"README's {name} figures differ from benchmarks/results/{name}.json"
    assert stored == (RESULTS / f"{name}.md").read_text(encoding="utf-8").split("\n", 1)[1].strip()


def test_the_speed_table_holds_the_stored_figures():
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table_after("Measured with `python")[2:]]
    assert rows == load("speed-training")["data"]["rows"]
    steps = load("speed-steps")["data"]
    assert [case["model"] for case in steps["adam"]] == ["our model", "8 x Linear(512, 512)"]
    for case in steps["adam"]:
        ratio = case["manual_us"] / case["torch_us"]
        assert (
            f"Adam step, {case['model']}, one thread: manual {case['manual_us']:.0f} µs, "
            f"torch.optim.Adam {case['torch_us']:.0f} µs (ratio {ratio:.2f})"
        ) in README
    assert f"one 10-word sentence {steps['inference_single_ms']:.2f} ms median" in README
    assert f"1,000 test sentences batched {steps['inference_1000_s']:.3f} s median" in README


def test_the_ablation_table_is_rendered_from_the_stored_run():
    stored = load("ablation")["data"]
    readme = table_after("Mean ± standard deviation over the seeds")
    assert readme == ablation_markdown(stored).splitlines()
    shipped = json.loads((ARTIFACTS / "ablation.json").read_text())  # what the Analysis page shows
    assert ablation_markdown(shipped) == ablation_markdown(stored)
    seeds = [run["long (1.3x)"] for run in stored["runs"]["default"]]
    assert "(the default's: " + ", ".join(f"{s:.2f}" for s in seeds) + ")" in README


def test_the_soak_table_holds_the_stored_rows():
    stored = load("soak")
    table = table_after(stored["command"])  # the table that follows the command the README names
    rows = {line.strip("| ").split(" | ")[0]: line.strip("| ").split(" | ", 1)[1] for line in table[2:]}
    if stored["source"] == "measured":
        from benchmarks.soak import report

        assert report(stored["data"], stored["data"]["errors"]).endswith("\n".join(table))
    else:
        assert rows == stored["data"]["rows"]


def test_the_stress_and_length_tables_are_the_shipped_models_metrics():
    metrics = json.loads((ARTIFACTS / "metrics.json").read_text())
    suites = metrics["stress"]["suites"]
    names = {
        "normal (test split)": "normal",
        "unknown words (copied through attention)": "unknown words",
        "unknown words, plain model (no copy)": "unknown words (no copy)",
    }
    rows = table_after("`python -m seq2seq stress`")[2:]
    assert len(rows) == len(suites)
    for row in rows:
        label, value = (c.strip() for c in row.strip("|").split("|"))
        suite = suites[names.get(label, label)]
        assert value == f"{suite['exact_match']:.4f} ({suite['correct']}/{suite['total']})"
    header, _, values = table_after("Exact match per length past that")
    lengths = [c.strip() for c in header.strip("|").split("|")][1:]
    per_length = metrics["stress"]["per_length"]
    assert [c.strip() for c in values.strip("|").split("|")][1:] == [
        f"{per_length[n]['exact_match']:.2f}" for n in lengths
    ]
    test = metrics["test"]
    assert f"exact match **{test['exact_match']:.4f} ({test['correct']}/{test['total']})**" in README


def fraction_words(share: Fraction) -> str:
    words = {
        Fraction(1, 2): "half",
        Fraction(1, 3): "a third",
        Fraction(1, 4): "a quarter",
        Fraction(2, 3): "two thirds",
    }
    return words.get(share.limit_denominator(12), f"{float(share):.0%}")


def test_when_the_shipped_model_passed_99_percent_is_read_from_its_history():
    with open(ARTIFACTS / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    passed = next(r for r in rows if float(r["valid_exact_match"]) >= 0.99)
    epoch_steps = max(int(r["step"]) for r in rows if r["epoch"] == passed["epoch"])
    share = Fraction(int(passed["step"]), epoch_steps)
    ordinal = {"1": "first", "2": "second", "3": "third"}[passed["epoch"]]
    phrase = (
        f"{passed['step']} steps ({float(passed['train_seconds']):.0f} s of training, {fraction_words(share)} of the "
        f"{ordinal} epoch)"
    )
    assert phrase in " ".join(README.split()), phrase
    stored = json.loads((ARTIFACTS / "metrics.json").read_text())["history"]
    assert [row["step"] for row in stored] == [int(r["step"]) for r in rows]  # metrics.json says the same


def test_the_corpus_file_results_are_the_stored_run():
    data = load("user_corpus")["data"]
    if data["stress"] is None:  # transcribed from an earlier README: only its summary is known
        every_suite, worst, lengths = (
            data["summary"]["every_suite"],
            data["summary"]["worst"],
            data["summary"]["lengths"],
        )
    else:
        stress = data["stress"]
        every_suite = min(row["exact_match"] for name, row in stress["suites"].items() if "no copy" not in name)
        worst = min(row["exact_match"] for row in stress["per_length"].values())
        lengths = [int(n) for n in stress["per_length"]]
    on_suites = "1.0000 on every suite above" if every_suite == 1.0 else f"at least {every_suite:.4f} on every suite"
    if worst == 1.0:
        phrase = f"gave {on_suites} and 1.00 at every length from {min(lengths)} to {max(lengths)} words"
    else:
        phrase = (
            f"gave {on_suites} and at least {worst:.2f} at every length from {min(lengths)} to {max(lengths)} words"
        )
    assert phrase in " ".join(README.split()), phrase


def test_the_ci_times_are_the_stored_run():
    data = load("ci")["data"]
    assert f"took {data['total_seconds']:.0f} s" in README
    assert f"{data['test_seconds']:.0f} s of it the tests" in README
    assert f"`pytest`: {data['tests_passed'] + data['tests_skipped']} tests" in README


@pytest.mark.parametrize("label", ["before", "after"])
def test_the_mutation_scores_are_the_stored_runs(label):
    report = json.loads((RESULTS / f"mutation-{label}.json").read_text())
    for module, result in report["modules"].items():
        counts = result["counts"]
        checked = sum(counts.values()) - counts["skipped"] - counts["not checked"]
        cell = f"{counts['killed'] + counts['timeout']}/{checked} ({result['score']:.0%})"
        row = next(line for line in table_after("| module | mutation score before") if line.startswith(f"| {module} "))
        assert cell in row, (module, label, cell, row)


def test_the_browser_table_and_the_warm_up_lines_are_the_stored_run():
    record = json.loads((RESULTS / "app_latency.json").read_text(encoding="utf-8"))
    assert "\n".join(record["table"]) in README
    for sample in record["samples"]:
        assert sample["server_warm_up"] in README
