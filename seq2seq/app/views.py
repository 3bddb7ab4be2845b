"""What the app's pages show, computed without Streamlit: table rows, filters, labels and wording.

Table rows hold plain strings, numbers and booleans; widgets show them as text. The figures are in ``seq2seq.plots``.
"""

import re
from collections.abc import Mapping, Sequence

from ..attention import ENERGY_TERMS, TERM_NAMES, EnergyTerm
from ..config import Config
from ..decoding import Reversal
from ..failures import FAILURES, counts_text, failure_label, failures_text
from ..metrics import Evaluation, alignment_metrics, percent
from ..records import BatchPoint, HistoryRow, Snapshot, SnapshotExample, StopReason
from .models import model_label
from .runs import RunInfo, RunStatus

MATCH_FILTERS = ("all", "match", "no match")
FAILURE_FILTERS = ("any", *FAILURES)  # "any": every row; a label: the wrong decodes that got it

ALIGNMENT_LABELS = [
    ("mirror_peak_rate", "mirror-position accuracy (all steps)", "share of decoder steps whose peak is the mirror"),
    ("mirror_peak_first", "mirror-position accuracy, first output word", "peak on the last input word"),
    ("mirror_peak_last_word", "mirror-position accuracy, last output word", "peak on the first input word"),
    ("mirror_peak_eos", "mirror-position accuracy, <eos> step", "peak on the source's <eos>"),
    ("mirror_peak_repeated", "mirror-position accuracy, repeated words", "content alone cannot tell these apart"),
    ("mirror_mass", "attention mass on the mirror position", "mean weight, out of 1"),
    ("entropy_first", "entropy at the start (nats)", "first output word"),
    ("entropy_middle", "entropy in the middle (nats)", "middle output word"),
    ("entropy_last", "entropy at the end (nats)", "the final <eos> step"),
    ("entropy_uniform", "entropy of uniform attention (nats)", "for scale: weights spread evenly"),
]
PERCENT_METRICS = {"mirror_peak_rate", "mirror_peak_first", "mirror_peak_last_word", "mirror_peak_eos"}
PERCENT_METRICS |= {"mirror_peak_repeated"}


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>:$&])")


def markdown_escape(text: str) -> str:
    """Text that Markdown (and Streamlit's extensions of it) shows as it is: every special character escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, agreeing: "1 step", "2 steps", "0 steps" (``plural`` when not ``noun`` + "s")."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


# ------------------------------------------------------------------------------------------------- one sentence
def token_rows(result: Reversal) -> list[dict]:
    """The input tokens the model saw, each flagged known or unknown (unknown ones reached it as ``<unk>``)."""
    return [
        {"position": i, "token": tok, "in vocabulary": "yes" if known else "UNKNOWN: seen as <unk>"}
        for i, (tok, known) in enumerate(zip(result.tokens, result.known, strict=True), start=1)
    ]


def output_rows(result: Reversal) -> list[dict]:
    """The output tokens, each marked when it was copied from the input through attention (an emitted ``<unk>``)."""
    return [
        {"position": i, "token": tok, "copied": "copied from the input via attention" if copied else ""}
        for i, (tok, copied) in enumerate(zip(result.output, result.copied, strict=True), start=1)
    ]


def unknown_words(result: Reversal) -> list[str]:
    return [tok for tok, known in zip(result.tokens, result.known, strict=True) if not known]


# ------------------------------------------------------------------------------------------------- test set
def example_rows(results: Sequence[Reversal], aligns: bool) -> list[dict]:
    """One row per test sentence: its number, input, output, reference, length, match flag and failure label ("" when
    it matches; ``aligns``: whether the model's weights are an alignment, see ``seq2seq.failures``)."""
    return [
        {
            "#": i,
            "input": " ".join(r.tokens),
            "output": " ".join(r.output),
            "reference": " ".join(r.reference),
            "length": len(r.tokens),
            "match": r.match,
            "failure": failure_label(r, aligns) or "",
        }
        for i, r in enumerate(results, start=1)
    ]


def filter_rows(
    rows: Sequence[dict], match: str = "all", lengths: tuple[int, int] | None = None, failure: str = "any"
) -> list[dict]:
    """Rows whose match flag fits ``match`` ("all", "match" or "no match"), whose length is within ``lengths`` and
    whose failure label is ``failure`` ("any": every row)."""
    if match not in MATCH_FILTERS:
        raise ValueError(f"match filter must be one of {', '.join(MATCH_FILTERS)}, not {match!r}")
    if failure not in FAILURE_FILTERS:
        raise ValueError(f"failure filter must be one of {', '.join(FAILURE_FILTERS)}, not {failure!r}")
    low, high = lengths if lengths is not None else (0, 10**9)
    return [
        row
        for row in rows
        if low <= row["length"] <= high
        and (match == "all" or row["match"] == (match == "match"))
        and (failure == "any" or row["failure"] == failure)
    ]


def failure_filter_label(failure: str, counts: Mapping[str, int]) -> str:
    """A failure filter's option as shown: the label and how many wrong decodes have it."""
    return "any (no filter)" if failure == "any" else f"{failure} ({counts.get(failure, 0):,})"


def terms_note(kind: str, terms: Sequence[EnergyTerm]) -> str:
    """Which energy terms this kind has to switch off, and which it lacks (so switching them off means nothing)."""
    if not terms:
        return (
            f"This model ({kind}) does not attend: its context ignores the decoder's state, so its weights have no "
            "energy terms to switch off."
        )
    missing = [term for term in ENERGY_TERMS if term not in terms]
    text = f"This model ({kind}) has {len(terms)} terms in its energy: " + "; ".join(TERM_NAMES[t] for t in terms) + "."
    if missing:
        text += (
            " It has no " + " and no ".join(f"{t} term" for t in missing) + ", so there is nothing of it to switch off."
        )
    return text


def ablation_text(term: EnergyTerm, plain: Evaluation, ablated: Evaluation) -> str:
    """What switching ``term`` off did to the test split, in words computed from the two evaluations."""
    before, after = plain.exact_match, ablated.exact_match
    moved = "falls" if after < before else "rises" if after > before else "stays"
    change = f"{moved} from {percent(before)} to {percent(after)}" if moved != "stays" else f"stays at {percent(after)}"
    return (
        f"With {TERM_NAMES[term]} switched off, exact match on the test split {change} "
        f"({ablated.correct:,}/{ablated.total:,}). {failures_text(ablated.failures, ablated.total)}"
    )


def ablation_rows(plain: Evaluation, ablated: Evaluation, term: str) -> list[dict]:
    """Per test length: exact match with every term on and with ``term`` off, and how the decodes fail without it."""
    rows = []
    for length, on in plain.per_length.items():
        off = ablated.per_length[length]
        rows.append(
            {
                "length": int(length),
                "all terms on": percent(on["exact_match"]),
                f"{term} term off": percent(off["exact_match"]),
                f"failures with the {term} term off": counts_text(off["failures"]) or "none",
            }
        )
    return rows


def filtered_accuracy(rows: Sequence[dict]) -> tuple[float | None, int, int]:
    """(exact match, correct, total) over some rows; None when there are none."""
    correct = sum(bool(row["match"]) for row in rows)
    return (correct / len(rows) if rows else None), correct, len(rows)


# ------------------------------------------------------------------------------------------------- alignment
def alignment_rows(*columns: tuple[str, dict | None]) -> list[dict]:
    """A table of alignment metrics: one row per metric, one column per (name, metrics) pair given."""
    rows = []
    for key, label, meaning in ALIGNMENT_LABELS:
        row = {"metric": label}
        for name, metrics in columns:
            value = (metrics or {}).get(key)
            row[name] = percent(value) if key in PERCENT_METRICS else ("n/a" if value is None else f"{value:.3f}")
        row["meaning"] = meaning
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------- ablation
def ablation_table(ablation: dict) -> list[dict[str, str]]:
    """The rows of ``ablation.json`` (``benchmarks/ablation.py``) as text cells: the variant, "mean ± std" for each
    suite, and the time to 99% valid with how many seeds reached it. Missing or non-numeric values read "n/a"."""

    def number(value) -> float | None:
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    table = []
    for row in ablation.get("rows", []):
        if not isinstance(row, dict):
            continue
        cells = {"variant": str(row.get("variant", "n/a"))}
        for key, value in row.items():
            column = key.removesuffix("_mean")
            if column == key or column in ("t99", "test"):
                continue
            mean, std = number(value), number(row.get(f"{column}_std")) or 0.0
            cells[column] = "n/a" if mean is None else f"{mean:.3f} ± {std:.3f}"
        mean, reached = number(row.get("t99_mean")), str(row.get("t99_reached", "n/a"))
        cells["time to 99% valid"] = f"{mean:.1f} s ({reached})" if mean is not None else f"not reached ({reached})"
        table.append(cells)
    return table


# ------------------------------------------------------------------------------------------------- training
def snapshot_label(snapshot: Snapshot) -> str:
    return f"epoch {snapshot.get('epoch', '?')} · step {snapshot.get('step', '?')}"


def snapshot_example(snapshot: Snapshot, index: int = 0) -> SnapshotExample | None:
    """One watched sentence of a training snapshot; None when the snapshot has no such example."""
    examples = snapshot.get("examples") or []
    return examples[index] if 0 <= index < len(examples) else None


def snapshot_alignment(snapshot: Snapshot, index: int = 0) -> dict | None:
    """The alignment metrics of one watched sentence in one snapshot (how far its attention had formed then)."""
    example = snapshot_example(snapshot, index)
    return None if example is None else alignment_metrics([(example["tokens"], example["attention"])])


def watched_index(snapshot: Snapshot | None) -> int:
    """Which watched sentence the Train page follows: the middle-length one."""
    examples = (snapshot or {}).get("examples") or []
    return len(examples) // 2 if examples else 0


STOP_REASON_TEXT: dict[StopReason, str] = {
    "epochs": "all epochs done",
    "target_accuracy": "reached the target accuracy",
    "stopped": "stopped by a user",
    "server_stopped": "stopped when the server stopped",
    "max_seconds": "reached the time limit",
    "diverged": "the loss diverged",
}
STATUS_TEXT: dict[RunStatus, str] = {
    "idle": "no run yet",
    "preparing": "preparing the data",
    "running": "training",
    "stopping": "stopping: finishing the batch, validating and saving",
    "finished": "finished",
    "failed": "failed",
    "interrupted": "interrupted (the server stopped while it ran)",
    "cli": "trained from the command line",
    "unknown": "unknown (neither its run.json nor its model can be read)",
    "elsewhere": "training from the command line or another server",
}


def status_text(status: RunStatus, stop_reason: StopReason | None = None) -> str:
    """A run's status in words."""
    words = STATUS_TEXT[status]
    if stop_reason and status in ("finished", "failed"):
        words += f" ({STOP_REASON_TEXT[stop_reason]})"
    return words


def run_rows(runs: Sequence[RunInfo]) -> list[dict[str, str]]:
    """The table of run folders: name, start, status in words, corpus and test exact match."""
    return [
        {
            "run": run.name,
            "started": run.started,
            "status": status_text(run.status, run.stop_reason),
            "corpus": run.corpus,
            "test exact match": percent(run.test_exact_match),
        }
        for run in runs
    ]


# ------------------------------------------------------------------------------------------------- compare
MAX_COMPARED = 4  # models side by side: more make columns a few pixels wide and a rerun that reverses with each


def compare_selection(asked: Sequence[str], options: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The models to compare out of those asked for (paths, in order; ``options`` maps the paths one can pick to their
    labels), and one note per reason some were left out: gone from the server (a run deleted, maybe in another tab),
    or past the first ``MAX_COMPARED``."""
    kept = list(dict.fromkeys(path for path in asked if path in options))
    gone = [path for path in dict.fromkeys(asked) if path not in options]
    notes = []
    if gone:
        names = ", ".join(model_label(path) for path in gone)
        notes.append(f"No longer on this server, so left out of the comparison: {names}.")
    if len(kept) > MAX_COMPARED:
        names = ", ".join(options[path] for path in kept[MAX_COMPARED:])
        notes.append(f"At most {MAX_COMPARED} models are compared at once, so these were left out: {names}.")
    return kept[:MAX_COMPARED], notes


EXAMPLE_LABEL_WORDS = 6
"""Longest example sentence shown whole on its button; a longer one is shown as its length and its first words."""


def example_labels(examples: Sequence[str], longest_trained: int) -> list[str]:
    """Button labels for example sentences, told apart by their first characters (a narrow button cuts a long label
    at its end): a short sentence whole; a longer one, or one past the trained length, as its word count, then as few
    of its first words as keep it apart from the labels before it, then "(past the trained length)" where it is."""
    labels: list[str] = []
    heads: list[str] = []
    for example in examples:
        words = example.split()
        if len(words) <= min(EXAMPLE_LABEL_WORDS, longest_trained) and example not in heads:
            heads.append(example)
            labels.append(example)
            continue
        for shown in range(min(3, len(words)), len(words) + 1):
            head = f"{len(words)} words: {' '.join(words[:shown])}{' …' if shown < len(words) else ''}"
            if head not in heads:
                break
        heads.append(head)
        labels.append(head + (" (past the trained length)" if len(words) > longest_trained else ""))
    return labels


def longer_than_trained(
    test_sentences: Sequence[Sequence[str]], longest_trained: int, factor: float = 1.5
) -> str | None:
    """A sentence ``factor`` times as long as the longest training sentence, made by joining the longest test sentences
    (deterministic, from the model's own words): where models without attention, or without its memory of where they
    looked, lose their place. None without a test split."""
    pool = sorted((list(s) for s in test_sentences if s), key=lambda s: (-len(s), s))
    if not pool:
        return None
    target = max(2, round(factor * longest_trained))
    words: list[str] = []
    for sentence in pool * target:
        words += sentence
        if len(words) >= target:
            break
    return " ".join(words[:target])


def no_attention_text(kind: str, words: int, longest: int, per_length: dict[str, dict] | None = None) -> str:
    """Why a fixed-context model has no heatmap and why it fails as input grows, with its own test score at this
    sentence's length (``per_length`` as in the stored test metrics) when it has test sentences that long.
    ``longest``: the longest example it trained on, joined pairs included (``stress.trained_lengths``)."""
    if kind == "encdec":
        why = (
            "It has no attention to show: every output word is predicted from the same single vector, the encoder's "
            "last state h_Tx, so the whole sentence has to fit in that one fixed-size summary; the longer the "
            "sentence, the less of it fits, and it drops, repeats or swaps words"
        )
    else:
        why = "It has no attention to show: every output word sees the same average of the encoder states"
    text = f"{why}."
    if words > longest:
        text += f" This sentence has {words} words, more than the {longest} of the longest example it trained on."
    row = (per_length or {}).get(str(words))
    if isinstance(row, dict) and isinstance(row.get("exact_match"), int | float) and row.get("total"):
        text += (
            f" On its test sentences of {words} words it reverses {percent(row['exact_match'])} exactly "
            f"({row.get('correct', 0):,}/{row['total']:,})."
        )
    return text


def validation_text(config: Config) -> str:
    """What "valid" means on this page: how often the run validates, and on how many sentences."""
    often = f"{config.evals_per_epoch} times an epoch" if config.evals_per_epoch > 1 else "once an epoch"
    if config.valid_subset and config.valid_subset < config.valid_size:
        return (
            f"Validated {often} on the first {config.valid_subset:,} of the {config.valid_size:,} validation "
            "sentences (a subset, so that it can validate often); the test score at the end uses the whole test split."
        )
    return f"Validated {often} on every validation sentence."


def live_metrics(batches: Sequence[BatchPoint], history: Sequence[HistoryRow]) -> list[tuple[str, str]]:
    """The four numbers above a run's curves, as (label, value): the last batch's loss and gradient norm, the last
    validation's loss and exact match; "–" before there is one."""
    batch, row = (batches[-1] if batches else None), (history[-1] if history else None)
    return [
        ("train loss", f"{batch['train_loss']:.4f}" if batch else "–"),
        ("valid loss", f"{row['valid_loss']:.4f}" if row else "–"),
        ("valid exact match", percent(row["valid_exact_match"]) if row else "–"),
        ("gradient norm", f"{batch['grad_norm']:.3f}" if batch else "–"),
    ]
