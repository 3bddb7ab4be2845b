"""The analysis of a trained model's attention, written as Markdown with every number computed from the model.

``write_report`` regenerates a model's artifacts: metrics.json, examples.md, attention_heatmap.png, ANALYSIS.md and
the replay of its training (replay.html, replay.gif).
The app's Analysis page shows the same text, computed live for the active model.
"""

import json
from collections.abc import Sequence
from pathlib import Path

from .attention import departures, kind_explanation, kind_name
from .decoding import Reversal, Reverser
from .evaluation import SHOWCASE_SENTENCE, TestReport, evaluate_sentences, pick_examples
from .failures import FAILURES, failures_text
from .fileio import atomic_write_text, write_json
from .metrics import GOOD, PARTLY, Evaluation, format_example, percent
from .plots import write_heatmap_png
from .replay_export import write_replay
from .stress import build_suites, run_stress, stress_table


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def peak_walk(reverser: Reverser, sentence: str = SHOWCASE_SENTENCE) -> str:
    """Where each decoder step of one sentence puts its highest weight, as a Markdown table."""
    result = reverser.reverse(sentence)
    source = [*result.tokens, "<eos>"]
    rows = ["| step | output | attends most to | weight |", "|---|---|---|---|"]
    for step, weights in enumerate(result.attention):
        peak = max(range(len(weights)), key=weights.__getitem__)
        word = result.output[step] if step < len(result.output) else "<eos>"
        rows.append(f"| {step + 1} | `{word}` | {peak + 1}·`{source[peak]}` | {weights[peak]:.3f} |")
    return "\n".join(rows)


def _words(count: int | str) -> str:
    """ "1 word", "2 words"."""
    return f"{count} word" if int(count) == 1 else f"{count} words"


def _length_note(per_length: dict[str, dict], stress: dict | None) -> str:
    """How accuracy holds up with length, on the test split and, where measured, past the trained lengths."""
    lengths = sorted(map(int, per_length))
    span = _words(lengths[0]) if len(lengths) == 1 else f"{lengths[0]} to {_words(lengths[-1])}"
    worst_length, worst = min(per_length.items(), key=lambda item: (item[1]["exact_match"], int(item[0])))
    best_length, best = max(per_length.items(), key=lambda item: (item[1]["exact_match"], -int(item[0])))
    if len(lengths) == 1:
        text = (
            f"Every test sentence has {span}, so the test split cannot show how accuracy changes with length: "
            f"{percent(worst['exact_match'])} exact ({worst['correct']}/{worst['total']})."
        )
    elif worst["exact_match"] == 1.0:
        text = f"Accuracy does not fall with length: every test length, {span}, is exact."
    elif worst["exact_match"] == best["exact_match"]:
        text = f"Accuracy does not change with length: every test length, {span}, is {percent(worst['exact_match'])}."
    else:
        text = (
            f"Accuracy {'stays high' if worst['exact_match'] >= GOOD else 'depends on length'}: the lowest test length "
            f"is {_words(worst_length)} at {percent(worst['exact_match'])} ({worst['correct']}/{worst['total']}), "
            f"the highest {_words(best_length)} at {percent(best['exact_match'])}."
        )
    if stress:
        seen = stress["seen_max_length"]
        table = stress["per_length"]
        far = [(n, table[str(n)]["exact_match"]) for n in (round(1.3 * seen), 2 * seen) if str(n) in table]
        if far:
            parts = ", ".join(f"{percent(value)} at {_words(n)}" for n, value in far)
            text += f" Past the longest example it trained on ({_words(seen)}), exact match is {parts}."
    return text


def _grade(value: float | None) -> str:
    """ "good", "partly" or "no" for a share, against GOOD and PARTLY (no steps to measure: "n/a")."""
    if value is None:
        return "n/a"
    return "good" if value >= GOOD else "partly" if value >= PARTLY else "no"


def attention_focus(results: Sequence[Reversal]) -> dict[str, float | None]:
    """Where the peaks of all decoder steps fall, by source position: on the first source word, on the last one, on
    the source's ``<eos>``; and the mean highest weight of a step (1.0 is one-hot, 1/(n+1) uniform)."""
    peaks: dict[str, list[float]] = {"first": [], "last": [], "eos": []}
    highest: list[float] = []
    for r in results:
        n = len(r.tokens)
        for weights in r.attention[: n + 1]:
            peak = max(range(len(weights)), key=weights.__getitem__)
            peaks["first"].append(float(peak == 0))
            peaks["last"].append(float(peak == n - 1))
            peaks["eos"].append(float(peak == n))
            highest.append(weights[peak])
    mean = {k: (sum(v) / len(v) if v else None) for k, v in peaks.items()}
    return {**mean, "highest": sum(highest) / len(highest) if highest else None}


def _sharpness(a: dict) -> str:
    """Sharp, diffuse or in between, from the middle step's entropy against uniform weights' (thresholds stated)."""
    middle, uniform = a["entropy_middle"], a["entropy_uniform"]
    if middle is None or not uniform:
        return ""
    scale = f"{_num(middle)} nats in the middle of the output, against {_num(uniform)} nats for weights spread evenly"
    if middle <= 0.5 * uniform:
        return f"Attention is sharp (at most half the entropy of even weights): its entropy is {scale}."
    if middle >= 0.8 * uniform:
        return f"Attention is diffuse (at least 80% of the entropy of even weights): its entropy is {scale}."
    return f"Attention is neither sharp nor spread evenly: its entropy is {scale}."


def _elsewhere(focus: dict) -> str:
    """Where the peaks go instead of the mirror position."""
    return (
        f"Instead, the peak falls on the first source word in {percent(focus['first'])} of steps, on the last one in "
        f"{percent(focus['last'])} and on the end marker `<eos>` in {percent(focus['eos'])}; the highest weight of a "
        f"step is {_num(focus['highest'])} on average (1.00 would be all of it on one position)."
    )


def _failures_section(evaluation: Evaluation, stress: dict | None) -> str:
    """How the wrong decodes went wrong, by failure label (``seq2seq.failures``): on the test split and, where
    measured, on the sentences longer than any example the model trained on."""
    text = f"**On its test split.** {failures_text(evaluation.failures, evaluation.total)}"
    if stress:
        seen = stress["seen_max_length"]
        longer = {int(n): row for n, row in stress["per_length"].items() if int(n) > seen and "failures" in row}
        if longer:
            counts = {label: sum(row["failures"][label] for row in longer.values()) for label in FAILURES}
            total = sum(row["total"] for row in longer.values())
            span = f"{min(longer)} to {_words(max(longer))}"
            text += f"\n\n**Longer than any example it trained on ({span}).** {failures_text(counts, total)}"
    return text


def _computed_by(live: bool) -> str:
    """Who computed the analysis' numbers: the app's page, live, or ``report``, which writes ANALYSIS.md."""
    return "live by the app's Analysis page" if live else "by `python -m seq2seq report`"


def _exact_by_length(table: dict) -> str:
    """'1 word 92.9%, 2 words 87.9%, ...' for a per-length table, shortest first."""
    return ", ".join(
        f"{_words(n)} {percent(row['exact_match'])}" for n, row in sorted(table.items(), key=lambda i: int(i[0]))
    )


def _no_attention_markdown(reverser: Reverser, evaluation: Evaluation, stress: dict | None, live: bool) -> str:
    """The analysis of a model without attention: there are no weights to read, only what it gets right."""
    config = reverser.checkpoint.config
    kind = kind_name(config)
    explanation = kind_explanation(config)
    longer = {n: row for n, row in ((stress or {}).get("per_length") or {}).items() if n not in evaluation.per_length}
    by_length = _exact_by_length(evaluation.per_length)
    if longer:
        by_length += f". On longer sentences, made from its test split by `stress`: {_exact_by_length(longer)}"
    return f"""# A model without attention: {kind}

{explanation[:1].upper()}{explanation[1:]}

Computed {_computed_by(live)} on its test split of {evaluation.total:,} sentences: exact match
{percent(evaluation.exact_match)} ({evaluation.correct:,}/{evaluation.total:,}), token accuracy
{percent(evaluation.token_accuracy)}. Its decoder's weights are fixed (they only pick its context), so there is no
alignment to analyse and no heatmap is drawn; the `<unk>` copy step, which reads the attention peak, is off.

Exact match by test sentence length: {by_length}.

## When it is wrong, how?

{_failures_section(evaluation, stress)}
"""


def analysis_markdown(
    reverser: Reverser,
    report: TestReport,
    ablation: dict | None = None,
    stress: dict | None = None,
    live: bool = False,
) -> str:
    """The four questions of the analysis, answered with this model's numbers (``stress`` from ``run_stress``);
    ``live``: for the app's Analysis page, which computes them as it shows them, rather than for ``report``.

    Every claim follows from the number beside it: a pattern is named only when its share is at least ``GOOD``
    (95%), "partly" from ``PARTLY`` (50%), and otherwise the text says it is absent and where attention goes instead.
    """
    evaluation = report.evaluation
    if not evaluation.total:
        return "# How attention reverses a sentence\n\nThis model has no test sentences to analyse.\n"
    if not reverser.model.decoder.attention.aligns:
        return _no_attention_markdown(reverser, evaluation, stress, live)
    a = evaluation.alignment
    focus = attention_focus(report.results)
    sentence = SHOWCASE_SENTENCE
    quality = _grade(evaluation.exact_match)
    verdict = {
        "good": "",
        "partly": f"This model is **not yet reliable**: it reverses {percent(evaluation.exact_match)} of its test "
        f"sentences exactly (below the {percent(GOOD)} this analysis calls good).\n",
        "no": f"**This model is weak**: it reverses only {percent(evaluation.exact_match)} of its test sentences "
        "exactly, so its attention is not (yet) the pattern that reverses a sentence. What it does instead is "
        "below.\n",
    }[quality]
    rate = a["mirror_peak_rate"]
    shares = (
        f"Over all {a['steps']:,} decoder steps, the highest weight sits on the mirror position in {percent(rate)} of "
        f"steps, and the mirror position holds on average {_num(a['mirror_mass'], 3)} of the step's total weight of 1."
    )
    pattern = {
        "good": "The weights form an **anti-diagonal** (this analysis says so when the peak is on the mirror position "
        f"in at least {percent(GOOD)} of steps): the first output word looks at the last input word, the second at the "
        f"one before it, and so on. {shares}",
        "partly": f"The weights form an anti-diagonal **only in part** (this analysis names one at {percent(GOOD)} of "
        f"steps or more). {shares} {_elsewhere(focus)}",
        "no": f"The weights do **not** form an anti-diagonal (that takes the peak on the mirror position in at least "
        f"{percent(GOOD)} of steps). {shares} {_elsewhere(focus)}",
    }[_grade(rate)]
    repeated = a["mirror_peak_repeated"]
    repeated_text = (
        f"where the word to copy occurs more than once in the source ({a['repeated_steps']:,} steps), content alone "
        f"cannot say which occurrence comes next, and the peak is on the mirror occurrence in {percent(repeated)} of "
        "those steps."
        if repeated is not None
        else "no test sentence repeats a word, so position and content cannot be told apart here."
    )
    if _grade(rate) == "good" and _grade(repeated) in ("good", "n/a"):
        align = f"Yes, and by **position**, not by content. The proof is in repeated words: {repeated_text}"
        if repeated is not None:
            align += f' In "{sentence}" the two `the`s are told apart the same way (table above).'
    elif _grade(rate) == "good":
        align = f"Mostly: the peak is on the mirror position in {percent(rate)} of steps, but on repeated words less "
        align += f"often: {repeated_text}"
    elif _grade(rate) == "partly":
        align = f"Partly: the peak is on the mirror position in {percent(rate)} of steps (aligned would be at least "
        align += f"{percent(GOOD)}). On repeated words, {repeated_text}"
    else:
        align = f"No: the peak is on the mirror position in only {percent(rate)} of steps (aligned would be at least "
        align += f"{percent(GOOD)}), so output words are not matched to the input words they copy."
    mechanism = (
        "The decoder never has to remember the whole sentence in one state vector. At each step the context vector "
        "c_i = Σ_j α_ij h_j is, in effect, the annotation of the one source word to emit next, so the task becomes "
        '"look one position further left" rather than "recall word *n − i* from a fixed-size summary".'
        if _grade(rate) == "good"
        else "Attention lets the decoder read, at each step, a context vector c_i = Σ_j α_ij h_j built for that step, "
        "instead of remembering the whole sentence in one state vector. In this model that context is not yet the "
        f"one word to emit next: the mirror position holds {_num(a['mirror_mass'], 3)} of the weight on average, so "
        "c_i is a blend of several words' annotations."
    )
    if reverser.checkpoint.config.attention == "location":
        mechanism += (
            " This model's attention is location-aware: its energies also read a convolution of the previous "
            'step\'s weights, so "one position left of where I looked last" is a pattern it can learn directly.'
        )
    departs = departures(reverser.checkpoint.config)
    if departs:
        mechanism += " " + departs
    text = f"""# How attention reverses a sentence

Every number below is computed from the model {_computed_by(live)} on its test split of
{evaluation.total:,} sentences (exact match {percent(evaluation.exact_match)},
{evaluation.correct:,}/{evaluation.total:,}; token accuracy {percent(evaluation.token_accuracy)}). Decoder step *i* of a
sentence of *n* words should copy source word *n + 1 − i*: its **mirror position**; the final `<eos>` step's mirror is
the source's `<eos>`.
{verdict}
## What patterns appear in the attention weights?

{pattern} {_sharpness(a)}

Step by step, for "{sentence}":

{peak_walk(reverser, sentence)}

## Does attention align input and output tokens correctly?

{align}

## How does attention help the model reverse?

{mechanism}
{_length_note(evaluation.per_length, stress)}
"""
    if ablation:
        text += "\n" + ablation_paragraph(ablation) + "\n"
    text += f"""
## When it is wrong, how?

Each wrong decode is named by the first thing that went wrong: its attention drifted off the mirror position, or it
stopped early, ran long, skipped a word, repeated one, or wrote a wrong word at the right place.

{_failures_section(evaluation, stress)}
"""
    text += f"""
## What happens at the beginning and end of sequences?

{_ends(a)}
"""
    return text


def _ends(a: dict) -> str:
    """The first and last steps: the shares, and the explanation only where the shares show the behaviour."""
    first, last_word, eos = a["mirror_peak_first"], a["mirror_peak_last_word"], a["mirror_peak_eos"]
    beginning = (
        "- **Beginning.** The first output word needs the *last* input word. The first step's peak is on it in "
        f"{percent(first)} of sentences; its entropy is {_num(a['entropy_first'])} nats."
    )
    if _grade(first) == "good":
        beginning += (
            " The decoder finds this position from s_0, which is built from the backward encoder state at the first "
            'position: a summary of the whole sentence read right to left, so "where the sentence ends" is what it '
            "knows first."
        )
    else:
        beginning += (
            f" So this model does not reliably find the end of the sentence first (that takes {percent(GOOD)})."
        )
    end = (
        f"- **End.** The last output word is the first input word: the peak is there in {percent(last_word)} of "
        f"sentences. Then the model must stop: at the `<eos>` step the peak is on the source's `<eos>` in "
        f"{percent(eos)} of sentences, with entropy {_num(a['entropy_last'])} nats."
    )
    if _grade(last_word) == "good" and _grade(eos) == "good":
        end += " Having walked off the left end of the source, attention lands on the end marker, and it emits `<eos>`."
    else:
        end += " So this model does not reliably walk to the left end and stop there "
        end += f"(that takes {percent(GOOD)} of each)."
    return f"{beginning}\n{end}"


BASELINE_VARIANT = "no attention: encoder-decoder (the paper's baseline)"  # the ablation's row for attention="encdec"
MEAN_VARIANT = "no attention: mean of the annotations"  # attention="none"; files before the baseline call it this:
LEGACY_MEAN_VARIANT = "no attention"


def ablation_paragraph(ablation: dict) -> str:
    """One paragraph comparing the default model with the model that has no attention, from artifacts/ablation.json:
    the paper's baseline (context = the encoder's last state) where the file has it, else the mean context."""
    rows = {row["variant"]: row for row in ablation.get("rows", [])}
    base = rows.get("default")
    plain = rows.get(BASELINE_VARIANT) or rows.get(MEAN_VARIANT) or rows.get(LEGACY_MEAN_VARIANT)
    if not base or not plain:
        return ""
    which = (
        "the paper's baseline, the same encoder and decoder with the encoder's last state as its only context,"
        if plain is rows.get(BASELINE_VARIANT)
        else "the same encoder-decoder with the mean of the encoder states as its context"
    )
    text = (
        f"The ablation (`benchmarks/ablation.py`, {ablation.get('seeds', '?')} seeds) measures it: without attention, "
        f"{which} reaches {percent(plain['test_mean'])} exact match on the test set, against "
        f"{percent(base['test_mean'])} with it."
    )
    paper = rows.get("paper's attention (no location term)")
    if paper:
        text += (
            f" Without the location term (the 2014 paper's attention) it reaches {percent(paper['test_mean'])} in the "
            f"same training, and {percent(paper['long (1.3x)_mean'])} at 1.3 times the longest trained length, "
            f"against {percent(base['long (1.3x)_mean'])}."
        )
    return text


def examples_markdown(examples: list[Reversal]) -> str:
    blocks = "\n\n".join(format_example(r) for r in examples)
    return f"# Test-set examples\n\n```\n{blocks}\n```\n"


def write_showcase_heatmap(reverser: Reverser, path: str | Path, sentence: str = SHOWCASE_SENTENCE) -> str:
    result = reverser.reverse(sentence)
    return write_heatmap_png(path, result.tokens, result.output, result.attention, f'attention for "{sentence}"')


def write_report(
    checkpoint_path: str | Path, out_dir: str | Path, examples: int = 12, device: str = "cpu"
) -> list[str]:
    """Evaluate a checkpoint on its stored test split, on ``device`` (``resolve_device``'s names), and (re)write its
    artifacts in ``out_dir``."""
    out = Path(out_dir)
    reverser = Reverser.load(checkpoint_path, device)
    report = evaluate_sentences(reverser, reverser.checkpoint.test_sentences)
    ablation_path = out / "ablation.json"
    ablation = json.loads(ablation_path.read_text()) if ablation_path.is_file() else None
    stress = run_stress(reverser, build_suites(reverser.checkpoint))
    metrics = {
        "test": report.evaluation.to_dict(),
        "stress": stress,
        "data": reverser.checkpoint.metrics.get("data", {}),
        "config": reverser.checkpoint.config.to_dict(),
        "history": reverser.checkpoint.history,
    }
    write_json(out / "metrics.json", metrics)
    atomic_write_text(out / "examples.md", examples_markdown(pick_examples(report.results, examples)))
    atomic_write_text(out / "ANALYSIS.md", analysis_markdown(reverser, report, ablation, stress))
    lines = [
        report.evaluation.summary(),
        stress_table(stress),
        f"wrote {out / 'metrics.json'}, {out / 'examples.md'}, {out / 'ANALYSIS.md'}",
    ]
    if not reverser.model.decoder.attention.aligns:
        return [*lines, "no attention heatmap and no replay of it: this model has no attention"]
    engine = write_showcase_heatmap(reverser, out / "attention_heatmap.png")
    lines.append(f"wrote {out / 'attention_heatmap.png'} (drawn with {engine})")
    snapshots = reverser.checkpoint.snapshots
    if not snapshots:
        return [*lines, "no replay: this checkpoint kept no moments of its training"]
    title = f"{kind_name(reverser.checkpoint.config)}, learning to reverse"
    html_path, gif_path = write_replay(snapshots, out, title)
    return [*lines, f"wrote {html_path} and {gif_path}: the replay of training, {len(snapshots)} moments"]
