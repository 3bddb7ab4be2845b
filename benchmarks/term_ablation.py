"""What each term of the attention energy is for, measured: every shipped attention model's test split decoded with
one term switched off at a time (``seq2seq.ablate``), exact match and the failure labels. Inference only. Run by hand:

    python benchmarks/term_ablation.py

The results go to ``benchmarks/results/term_ablation.json`` and ``.md`` (``benchmarks/stored.py``); docs/model.md
quotes the table, and ``tests/docs/test_docs_figures.py::test_the_term_ablation_table_and_its_words_are_the_stored_run``
checks it and the words beside it.
"""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from seq2seq.ablate import term_ablation, terms_of  # noqa: E402
from seq2seq.attention import KIND_NAMES  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.failures import counts_text  # noqa: E402
from seq2seq.metrics import percent  # noqa: E402

CHECKPOINTS = ["artifacts/model.pt", "artifacts/additive/model.pt"]  # the shipped models that attend


def measure(checkpoint: str) -> list[dict]:
    """One row per term switched off (None first: every term on), on the checkpoint's stored test split."""
    reverser = Reverser.load(ROOT / checkpoint)
    rows = []
    for term in (None, *terms_of(reverser)):
        evaluation = term_ablation(reverser, reverser.checkpoint.test_sentences, term).evaluation
        failures = {label: count for label, count in evaluation.failures.items() if count}
        rows.append({
            "checkpoint": checkpoint,
            "kind": KIND_NAMES[reverser.checkpoint.config.attention],
            "term_off": term,
            "exact_match": evaluation.exact_match,
            "correct": evaluation.correct,
            "total": evaluation.total,
            "failures": evaluation.failures,
            "most_common": max(failures, key=failures.get) if failures else None,
        })  # fmt: skip
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | term switched off | exact match | most common failure | wrong decodes by label |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        term = row["term_off"] or "none (every term on)"
        lines.append(
            f"| {row['kind']} | {term} | {percent(row['exact_match'])} ({row['correct']:,}/{row['total']:,}) "
            f"| {row['most_common'] or '-'} | {counts_text(row['failures']) or 'none'} |"
        )
    return "\n".join(lines)


def main() -> None:
    torch.set_num_threads(1)
    rows = [row for checkpoint in CHECKPOINTS for row in measure(checkpoint)]
    table = markdown(rows)
    print(table)
    print(f"written to {store('term_ablation', {'rows': rows}, table, 'python benchmarks/term_ablation.py')}")


if __name__ == "__main__":
    main()
