"""Every figure the README and ``docs/`` quote from a benchmark or from the shipped models' files is the stored one.

The benchmarks store what they measured in ``benchmarks/results/`` (``benchmarks/stored.py``); the shipped models'
figures live in ``artifacts/`` (``metrics.json``, ``history.csv``, ``ablation.json``, ``length_limit.json``,
``paper_figure.json``). These tests read those files and look for the numbers, rendered the way each page writes
them, in the page that quotes them.
"""

import csv
import json
import re
import statistics
from fractions import Fraction
from pathlib import Path

import pytest

from benchmarks.ablation import markdown as ablation_markdown
from benchmarks.stored import RESULTS, load
from seq2seq.paper_figure import Series, findings, load_paper_figure, series

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
README = (ROOT / "README.md").read_text(encoding="utf-8")
MODEL, PAPER, SPEED, RELIABILITY, DEVELOPMENT, LEARN, CLASSROOM, REPLAY = (
    (ROOT / "docs" / f"{name}.md").read_text(encoding="utf-8")
    for name in ("model", "paper", "speed", "reliability", "development", "learn", "classroom", "replay")
)
# Each stored benchmark result and the page that quotes it.
QUOTED = {
    "speed-training": SPEED,
    "speed-steps": SPEED,
    "soak": RELIABILITY,
    "ablation": PAPER,
    "user_corpus": MODEL,
    "term_ablation": MODEL,
    "ci": DEVELOPMENT,
    "mutation-before": DEVELOPMENT,
    "mutation-after": DEVELOPMENT,
    "length_fix": MODEL,
    "length_fix_user_corpus": MODEL,
    "ab": SPEED,
    "decoder_page_speed": SPEED,
    "lesson_speed": LEARN,
    "ray_queue": CLASSROOM,
    "classroom": CLASSROOM,
    "replay_cost": REPLAY,
    "replay_speed": REPLAY,
}


def table_after(page: str, marker: str) -> list[str]:
    """The Markdown table that follows the first line of ``page`` containing ``marker``."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return rows


def cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def flat(page: str) -> str:
    """``page`` with its line breaks and runs of spaces as single spaces, for phrases that wrap."""
    return " ".join(page.split())


@pytest.mark.parametrize("name", [n for n in QUOTED if not n.startswith("mutation")])
def test_every_quoted_result_says_when_where_how_and_whether_it_was_measured(name):
    record = load(name)
    assert record["benchmark"] == name
    for key in ("date", "machine", "commit", "command"):
        assert record[key], key
    assert record["source"] == "measured" or record["source"].startswith(("transcribed from", "copied from"))
    assert record["command"].startswith("python benchmarks/") or name == "ci"
    assert f"benchmarks/results/{name}" in QUOTED[name]


@pytest.mark.parametrize(
    "name",
    [
        "speed-training",
        "speed-steps",
        "soak",
        "term_ablation",
        "length_fix",
        "length_fix_user_corpus",
        "ab",
        "decoder_page_speed",
        "lesson_speed",
        "ray_queue",
        "classroom",
        "replay_cost",
        "replay_speed",
    ],
)
def test_the_docs_quote_the_stored_tables_verbatim(name):
    stored = load(name)["markdown"].strip()
    assert stored in QUOTED[name], f"the docs' {name} figures differ from benchmarks/results/{name}.json"
    assert stored == (RESULTS / f"{name}.md").read_text(encoding="utf-8").split("\n", 1)[1].strip()


def test_the_speed_table_holds_the_stored_figures():
    rows = [cells(line) for line in table_after(SPEED, "Measured with `python")[2:]]
    assert rows == load("speed-training")["data"]["rows"]
    steps = load("speed-steps")["data"]
    assert [case["model"] for case in steps["adam"]] == ["our model", "8 x Linear(512, 512)"]
    for case in steps["adam"]:
        ratio = case["manual_us"] / case["torch_us"]
        assert (
            f"Adam step, {case['model']}, one thread: manual {case['manual_us']:.0f} µs, "
            f"torch.optim.Adam {case['torch_us']:.0f} µs (ratio {ratio:.2f})"
        ) in SPEED
    assert f"one 10-word sentence {steps['inference_single_ms']:.2f} ms median" in SPEED
    assert f"1,000 test sentences batched {steps['inference_1000_s']:.3f} s median" in SPEED


def test_the_term_ablation_table_and_its_words_are_the_stored_run():
    from benchmarks.term_ablation import markdown

    rows = load("term_ablation")["data"]["rows"]
    header, *table = markdown(rows).splitlines()
    assert header in MODEL and table_after(MODEL, header) == table
    location = {row["term_off"]: row for row in rows if row["kind"] == "location-aware attention"}
    assert location[None]["exact_match"] == 1.0
    said = {"location": "most often repeats a word", "content": "it writes wrong words", "query": "it stops early"}
    shown = {"location": "repeated a word", "content": "wrong word", "query": "stopped early"}
    for term, words in said.items():
        assert words in flat(MODEL) and location[term]["most_common"] == shown[term]


def test_the_ablation_table_is_rendered_from_the_stored_run():
    stored = load("ablation")["data"]
    quoted = table_after(PAPER, "Mean ± standard deviation over the seeds")
    assert quoted == ablation_markdown(stored).splitlines()
    shipped = json.loads((ARTIFACTS / "ablation.json").read_text())  # what the Analysis page shows
    assert ablation_markdown(shipped) == ablation_markdown(stored)
    seeds = [run["long (1.3x)"] for run in stored["runs"]["default"]]
    assert "(the default's: " + ", ".join(f"{s:.2f}" for s in seeds) + ")" in flat(PAPER)


def test_the_soak_table_holds_the_stored_rows():
    stored = load("soak")
    table = table_after(RELIABILITY, stored["command"])  # the table that follows the command the page names
    rows = {line.strip("| ").split(" | ")[0]: line.strip("| ").split(" | ", 1)[1] for line in table[2:]}
    if stored["source"] == "measured":
        from benchmarks.soak import report

        assert report(stored["data"], stored["data"]["errors"]).endswith("\n".join(table))
    else:
        assert rows == stored["data"]["rows"]


def test_the_classroom_table_is_rendered_from_the_stored_run_and_the_page_says_the_scripts_settings():
    from benchmarks.classroom import RATIO_GOAL, RSS_SLACK, TINY_RUN, Settings, report

    stored = load("classroom")
    assert report(stored["data"]) == stored["markdown"]  # every verdict in it computed from the stored figures
    assert f"`{stored['command']}`" in CLASSROOM  # the page names the command that made its table
    defaults, text = Settings(), flat(CLASSROOM)
    for phrase in (
        f"Then {defaults.students} students arrive over {defaults.arrive_over:g} seconds",
        f"on its last sentence; {defaults.trainers} of them also open the Train page",
        f"answers {defaults.sentences} sentences (a pause of {defaults.think:g} seconds on average",
        f"({TINY_RUN['corpus_size']} sentences, {TINY_RUN['epochs']} epochs",
        f"at most {RATIO_GOAL:g} times the one-student median",
        f"within {defaults.train_deadline / 60:g} minutes of its press",
        f"Must hold: no growth beyond {RSS_SLACK:.0%} of the half-way RSS",
    ):
        assert phrase in text, phrase
    assert {"valid_size", "test_size", "evals_per_epoch"} < set(TINY_RUN)


def test_the_stress_and_length_tables_are_the_shipped_models_metrics():
    metrics = json.loads((ARTIFACTS / "metrics.json").read_text())
    suites = metrics["stress"]["suites"]
    names = {
        "normal (test split)": "normal",
        "unknown words (copied through attention)": "unknown words",
        "unknown words, plain model (no copy)": "unknown words (no copy)",
    }
    rows = table_after(MODEL, "`python -m seq2seq stress`")[2:]
    assert len(rows) == len(suites)
    for row in rows:
        label, value = (c.strip() for c in row.strip("|").split("|"))
        suite = suites[names.get(label, label)]
        assert value == f"{suite['exact_match']:.4f} ({suite['correct']}/{suite['total']})"
    header, _, values = table_after(MODEL, "Exact match per length past that")
    lengths = [c.strip() for c in header.strip("|").split("|")][1:]
    per_length = metrics["stress"]["per_length"]
    assert [c.strip() for c in values.strip("|").split("|")][1:] == [
        f"{per_length[n]['exact_match']:.2f}" for n in lengths
    ]
    test = metrics["test"]
    assert f"exact match **{test['exact_match']:.4f} ({test['correct']}/{test['total']})**" in MODEL


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
    assert phrase in flat(MODEL), phrase
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
    assert phrase in flat(MODEL), phrase


def test_the_ci_times_are_the_stored_run():
    data = load("ci")["data"]
    assert f"took {data['total_seconds']:.0f} s" in DEVELOPMENT
    assert f"{data['test_seconds']:.0f} s of it the tests" in DEVELOPMENT
    assert f"`pytest`: {data['tests_passed'] + data['tests_skipped']} tests" in DEVELOPMENT


@pytest.mark.parametrize("label", ["before", "after"])
def test_the_mutation_scores_are_the_stored_runs(label):
    report = json.loads((RESULTS / f"mutation-{label}.json").read_text())
    for module, result in report["modules"].items():
        counts = result["counts"]
        checked = sum(counts.values()) - counts["skipped"] - counts["not checked"]
        cell = f"{counts['killed'] + counts['timeout']}/{checked} ({result['score']:.0%})"
        table = table_after(DEVELOPMENT, "| module | mutation score before")
        row = next(line for line in table if line.startswith(f"| {module} "))
        assert cell in row, (module, label, cell, row)


def test_the_browser_table_the_warm_up_lines_and_what_an_enter_drew_are_the_stored_run():
    record = json.loads((RESULTS / "app_latency.json").read_text(encoding="utf-8"))
    assert "\n".join(record["table"]) in SPEED
    for sample in record["samples"]:
        assert sample["server_warm_up"] in SPEED
    assert record["renders"] in SPEED


def metrics_of(label: str) -> dict:
    """The ``metrics.json`` of the model a row names in backticks (``artifacts/model.pt``, ``artifacts/x/``)."""
    path = ROOT / label.split("`")[1]
    folder = path.parent if path.suffix == ".pt" else path
    return json.loads((folder / "metrics.json").read_text())


def exact_at(metrics: dict, length: int) -> float:
    return metrics["stress"]["per_length"][str(length)]["exact_match"]


SUITES = ["random order", "repeated words", "unknown words", "one-two words"]  # unknown words: copied


def test_the_readme_table_of_the_shipped_models_is_each_models_metrics():
    header, _, *rows = table_after(README, "model's `metrics.json`")
    assert cells(header) == [
        "model", "test", "random order", "repeated words", "unknown words (copied)", "one-two words", "16-25 words",
        "30", "40", "50",
    ]  # fmt: skip
    assert len(rows) == 4
    for row in rows:
        label, *values = cells(row)
        metrics = metrics_of(label)
        suites = metrics["stress"]["suites"]
        span = [exact_at(metrics, n) for n in range(16, 26)]
        mean, lowest = statistics.mean(span), min(span)
        middle = f"{mean:.3f}"
        if lowest < mean:
            middle += f" (lowest: {lowest:.2f} at {16 + span.index(lowest)})"
        expected = [f"{metrics['test']['exact_match']:.3f}"]
        expected += [f"{suites[name]['exact_match']:.3f}" for name in SUITES]
        expected += [middle] + [f"{exact_at(metrics, n):.2f}" for n in (30, 40, 50)]
        assert values == expected, label


def test_what_the_location_term_buys_is_the_stored_ablation():
    rows = {row["variant"]: row for row in load("ablation")["data"]["rows"]}
    default, paper = rows["default"], rows["paper's attention (no location term)"]
    phrase = (
        f"from {paper['normal_mean']:.1%} to {default['normal_mean']:.1%} exact match on the test split in the same "
        f"training budget, and from {paper['long (1.3x)_mean']:.1%} to {default['long (1.3x)_mean']:.1%} at 1.3 "
        "times the longest trained length"
    )
    assert phrase in flat(MODEL), phrase
    text = flat(PAPER)
    baseline, mean = (
        rows["no attention: encoder-decoder (the paper's baseline)"],
        rows["no attention: mean of the annotations"],
    )
    assert f"reverses {baseline['normal_mean']:.1%} of the test set in this budget" in text
    assert f"the mean of the encoder states {mean['normal_mean']:.1%}" in text
    assert f"({rows['unidirectional encoder']['normal_mean']:.0%} without it:" in text
    assert (
        f"(without it {paper['normal_mean']:.1%} on the test set and {paper['long (1.3x)_mean']:.0%} at 39 words"
        in text
    )
    unclipped = [run["long (1.3x)"] for run in load("ablation")["data"]["runs"]["no gradient clipping"]]
    assert f"from {min(unclipped):.2f} to {max(unclipped):.2f}, is without gradient clipping" in text


def test_the_attention_and_length_figures_are_the_shipped_models_metrics():
    default, additive, encdec = (metrics_of(f"`artifacts/{name}`") for name in ("model.pt", "additive/", "encdec/"))
    a = default["test"]["alignment"]
    assert a["mirror_peak_repeated"] == 1.0  # the page says "all"
    text = flat(MODEL)
    assert (
        f"the peak is on the mirror position in {a['mirror_peak_rate']:.0%} of {a['steps']:,} decoder steps, and on "
        f"the right occurrence in all {a['repeated_steps']} steps"
    ) in text
    rate = additive["test"]["alignment"]["mirror_peak_rate"]
    assert f"in {rate:.1%} of its test steps, against {a['mirror_peak_rate']:.0%} for the default" in text
    per_length = encdec["test"]["per_length"]
    lengths = sorted(int(n) for n in per_length)
    none_from = min(n for n in lengths if all(per_length[str(m)]["exact_match"] == 0 for m in lengths if m >= n))
    words = {7: "seven"}
    one_two = encdec["stress"]["suites"]["one-two words"]["exact_match"]
    four = per_length["4"]["exact_match"]
    assert (
        f"sentences ({one_two:.2f}) and {four:.0%} of four-word ones, and nothing from {words[none_from]} words on"
    ) in text
    assert (
        f"reverses {per_length['1']['exact_match']:.0%} of one-word test sentences, {four:.0%} of four-word ones, and "
        f"none from {words[none_from]} words on"
    ) in flat(PAPER)
    exact = additive["stress"]["per_length"]
    exact_up_to = next(int(n) for n in sorted(exact, key=int) if exact[str(int(n) + 1)]["exact_match"] < 1.0)
    assert f"is exact up to {exact_up_to} words" in flat(PAPER)


@pytest.mark.parametrize(
    "stored, marker",
    [
        ("length_limit.json", "python benchmarks/length_limit.py --out"),
        ("stop/length_limit.json", "python benchmarks/length_limit.py --checkpoint artifacts/stop/model.pt"),
    ],
)
def test_the_length_limit_tables_are_the_stored_runs(stored, marker):
    rows = json.loads((ARTIFACTS / stored).read_text())["rows"]
    header, _, exact, early, slipped = table_after(MODEL, marker)
    assert cells(header)[1:] == [str(row["length"]) for row in rows]
    assert cells(exact)[1:] == [f"{row['exact_match']:.2f}" for row in rows]
    assert cells(early)[1:] == [f"{r['stopped_early']} of {r['failed']}" if r["failed"] else "0" for r in rows]
    assert cells(slipped)[1:] == [str(row["failed_with_attention_slip"]) for row in rows]
    steps = [row["first_error_step_median"] for row in rows if row["failed"]]
    if stored == "length_limit.json":
        assert f"too soon (at step {min(steps):g}-{max(steps):g}, median" in flat(MODEL)
        exact_to = max(
            r["length"] for r in rows if all(q["exact_match"] == 1.0 for q in rows if q["length"] <= r["length"])
        )
        phrase = (
            f"reverses all 50 sentences at each length `benchmarks/length_limit.py` measures up to {exact_to} words"
        )
        assert phrase in flat(PAPER), phrase


def test_the_figure_2_tables_are_the_stored_run():
    data, error = load_paper_figure()
    assert error is None, error
    table = table_after(PAPER, "Mean exact match over the seeds")[2:]
    assert [cells(row)[0] for row in table] == [line.label for line in series(data)]
    for row, line in zip(table, series(data), strict=True):
        assert cells(row)[1:] == [f"{line.mean_over(a, b):.3f}" for a, b in ((1, 10), (11, 20), (21, 40))]
    checked = table_after(PAPER, "| the paper says | here | holds |")[1:]
    assert len(checked) == len(findings(data))
    for row, finding in zip(checked, findings(data), strict=True):
        _, measured, holds = cells(row)
        assert measured == finding.measured
        assert holds.strip("*").startswith("yes" if finding.holds else "no"), (finding.claim, holds)


def test_the_decoder_speed_table_is_the_stored_run():
    record = json.loads((RESULTS / "decoder_speed.json").read_text(encoding="utf-8"))
    rows = table_after(SPEED, "`python benchmarks/decoder_speed.py`")[2:]
    assert len(rows) == len(record["results"])
    for row, (call, result) in zip(rows, record["results"].items(), strict=True):
        under = "yes" if result["p90_ms"] < record["target_ms"] else "no"
        assert cells(row) == [call, f"{result['median_ms']:g} ms", f"{result['p90_ms']:g} ms", under]
    assert f"the aim is {record['target_ms']:g} ms a call" in flat(SPEED)


def test_every_test_the_docs_name_exists():
    """A test cited as evidence (``unit/test_x.py`` or ``app/test_x.py::test_y``, by its tier) is one that runs: the
    file, and the function in it."""
    missing = []
    for page in (README, MODEL, PAPER, SPEED, RELIABILITY, DEVELOPMENT, LEARN, CLASSROOM, REPLAY):
        cited = re.findall(r"(?<![\w/])((?:unit|app|browser|docs)/test_\w+\.py)(?:::(test_\w+))?", page)
        for module, function in cited:
            path = ROOT / "tests" / module
            if not path.is_file():
                missing.append(module)
            elif function and not re.search(rf"^def {function}\(", path.read_text(encoding="utf-8"), re.MULTILINE):
                missing.append(f"{module}::{function}")
        missing += [f"{bare} (no tier)" for bare in re.findall(r"(?<![\w/])test_\w+\.py", page)]
    assert not missing, sorted(set(missing))


def first_zero(line: Series) -> int:
    """The first length at which ``line`` scores 0."""
    return next(n for n, mean in zip(line.lengths, line.mean, strict=True) if mean == 0)


def zero_from(line: Series) -> int:
    """The length from which ``line`` scores 0 at every length."""
    return min(n for i, n in enumerate(line.lengths) if max(line.mean[i:]) == 0)


def test_where_reversal_disagrees_with_the_paper_is_read_from_both_stored_runs():
    text = flat(PAPER)
    for name, phrases in (
        ("paper_figure.json", lambda exact, token: [
            f"({exact['additive', 20].mean_over(1, 10):.2f} on 1-10 words, "
            f"{exact['additive', 20].mean_over(11, 20):.2f} on 11-20; token accuracy "
            f"{token['additive', 20].mean_over(1, 10):.2f} and {token['additive', 20].mean_over(11, 20):.2f})",
            f"({exact['encdec', 20].mean_over(3, 3):.2f} at 3 words)",
            f"which holds {min(exact['location', 20].mean[20:40]):.2f} or better up to 40",
            f"trained on ≤10 it too fails by {first_zero(exact['location', 10])} words",
            f"its mean exact match is {min(exact['stop', 20].mean[:40]):.2f} or more at every length from 1 to 40 "
            f"trained on ≤20 words, and {min(exact['stop', 10].mean[:40]):.2f} or more trained on ≤10",
        ]),
        ("paper_figure_1200.json", lambda exact, token: [
            f"scores {exact['additive', 20].mean_over(1, 10):.3f} on 1-10 words and "
            f"{exact['additive', 20].mean_over(11, 20):.3f} on 11-20 (token accuracy "
            f"{token['additive', 20].mean_over(1, 10):.3f} and {token['additive', 20].mean_over(11, 20):.3f}; "
            f"{exact['additive', 20].mean_over(20, 20):.3f} exact at 20 words)",
            "(trained on ≤10: " + ", ".join(f"{m:.2f}" for m in exact["encdec", 10].mean[:4]) + " at 1-4 words)",
            f"({exact['encdec', 20].mean_over(1, 10):.3f} against {exact['encdec', 10].mean_over(1, 10):.3f} over "
            f"1-10 words) and 0 from {zero_from(exact['encdec', 20])} words on",
        ]),
    ):  # fmt: skip
        data, error = load_paper_figure(ARTIFACTS / name)
        assert error is None, error
        exact, token = (
            {(line.attention, line.max_train_length): line for line in series(data, metric)}
            for metric in ("exact_match_per_length", "token_accuracy_per_length")
        )
        for phrase in phrases(exact, token):
            assert phrase in text, (name, phrase)
