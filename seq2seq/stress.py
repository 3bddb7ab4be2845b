"""Stress suites: sentences unlike the test split, built from a model's own vocabulary and test split, seeded.

- ``normal``: the test split itself, for reference;
- ``random order``: random sequences of known words, of every trained length: no grammar to lean on;
- ``repeated words``: test sentences with one word copied over one or two other positions, so content alone cannot
  say which occurrence comes next;
- ``unknown words``: test sentences with one or two words replaced by made-up words the model never saw (scored with
  and without the ``<unk>`` copy step);
- ``one-two words``: the shortest inputs;
- ``long``: sentences longer than any in the training corpus, per length up to twice the longest example the model
  saw in training (joined pairs included), made by joining test sentences and cutting them to length.
"""

import random
from dataclasses import dataclass

from .checkpoint import Checkpoint
from .decoding import Reversal, Reverser
from .failures import counts_text, failure_counts
from .metrics import per_length_accuracy
from .tokenize import InputError

SUITES = ("normal", "random order", "repeated words", "unknown words", "one-two words")
_SYLLABLES = "ka lo mi ra zu ve tor bix qua nel dro fen gup hal jet wim yos pex".split()


@dataclass
class StressSuites:
    suites: dict[str, list[list[str]]]
    long: dict[int, list[list[str]]]  # by length, past the longest training sentence
    train_max_length: int  # longest sentence of the training corpus
    seen_max_length: int  # longest example trained on, joined pairs included


def trained_lengths(checkpoint: Checkpoint) -> tuple[int, int]:
    """(longest training-corpus sentence, longest example trained on with augmentation), from the checkpoint: its
    recorded data, else its longest test sentence, else its config's longest sentence (a checkpoint may hold none of
    the first two)."""
    data = checkpoint.metrics.get("data", {})
    corpus = int(
        data.get("train_max_length", max(map(len, checkpoint.test_sentences), default=checkpoint.config.max_length))
    )
    return corpus, int(data.get("seen_max_length", corpus))


def made_up_words(count: int, known: set[str], rng: random.Random) -> list[str]:
    """Pronounceable words that are not in the vocabulary."""
    words: list[str] = []
    while len(words) < count:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        if word not in known and word not in words:
            words.append(word)
    return words


def build_suites(checkpoint: Checkpoint, seed: int = 1234, size: int = 500, per_length: int = 50) -> StressSuites:
    rng = random.Random(seed)
    vocab = checkpoint.vocab
    words = vocab.words
    test = [s for s in checkpoint.test_sentences if s]
    if not test:
        raise InputError("the checkpoint holds no test sentences, and the stress suites are made from them")
    longest, seen = trained_lengths(checkpoint)

    def random_sequence(length: int) -> list[str]:
        return [rng.choice(words) for _ in range(length)]

    def repeated(sentence: list[str]) -> list[str]:
        out = list(sentence)
        word = rng.choice(out)
        for position in rng.sample(range(len(out)), k=min(len(out), rng.randint(2, 3))):
            out[position] = word
        return out

    unknown_pool = made_up_words(200, set(words), rng)

    def with_unknowns(sentence: list[str]) -> list[str]:
        out = list(sentence)
        for position in rng.sample(range(len(out)), k=min(len(out), rng.randint(1, 2))):
            out[position] = rng.choice(unknown_pool)
        return out

    def joined(length: int) -> list[str]:
        out: list[str] = []
        while len(out) < length:
            out += rng.choice(test)
        return out[:length]

    multi = [s for s in test if len(s) >= 3] or test
    suites = {
        "normal": test,
        "random order": [random_sequence(rng.randint(1, longest)) for _ in range(size)],
        "repeated words": [repeated(rng.choice(multi)) for _ in range(size)],
        "unknown words": [with_unknowns(rng.choice(test)) for _ in range(size)],
        "one-two words": [random_sequence(1 + i % 2) for i in range(size)],
    }
    long = {n: [joined(n) for _ in range(per_length)] for n in range(longest + 1, 2 * seen + 1)}
    return StressSuites(suites, long, longest, seen)


def run_stress(reverser: Reverser, stress: StressSuites) -> dict:
    """Exact match and wrong decodes per failure label, per suite, and per length for the long sentences (lengths
    within training from the test split)."""
    aligns = reverser.model.decoder.attention.aligns
    results: dict = {
        "train_max_length": stress.train_max_length,
        "seen_max_length": stress.seen_max_length,
        "suites": {},
    }
    for name, sentences in stress.suites.items():
        outcome = reverser.reverse_tokens(sentences)
        results["suites"][name] = _suite_row(outcome, aligns)
        if name == "normal":
            results["per_length"] = per_length_accuracy(outcome, aligns)
    plain = reverser.with_copy(False).reverse_tokens(stress.suites["unknown words"])
    results["suites"]["unknown words (no copy)"] = _suite_row(plain, aligns)
    long_results = reverser.reverse_tokens([s for n in sorted(stress.long) for s in stress.long[n]])
    results["per_length"].update(per_length_accuracy(long_results, aligns))
    return results


def _suite_row(outcome: list[Reversal], aligns: bool) -> dict:
    correct = sum(r.match for r in outcome)
    return {
        "exact_match": correct / len(outcome),
        "correct": correct,
        "total": len(outcome),
        "failures": failure_counts(outcome, aligns),
    }


def _failure_note(row: dict) -> str:
    """ "  (stopped early 3, wrong word 1)": the nonzero failure counts of a row, or nothing."""
    counts = counts_text(row.get("failures", {}))
    return f"  ({counts})" if counts else ""


def stress_table(results: dict) -> str:
    """The results as plain text: one line per suite, then exact match per length, each with its failure counts."""
    lines = [f"{'suite':<26} exact match"]
    for name, row in results["suites"].items():
        lines.append(f"{name:<26} {row['exact_match']:.4f} ({row['correct']}/{row['total']}){_failure_note(row)}")
    corpus, seen = results["train_max_length"], results["seen_max_length"]
    lines.append(f"\nper length (longest training sentence: {corpus} words; longest example trained on: {seen} words)")
    for length, row in results["per_length"].items():
        n = int(length)
        marker = "" if n <= corpus else "  (seen only as joined pairs)" if n <= seen else "  (longer than any trained)"
        counts = f"{row['exact_match']:.4f} ({row['correct']}/{row['total']})"
        lines.append(f"{length:>4} words  {counts}{marker}{_failure_note(row)}")
    return "\n".join(lines)
