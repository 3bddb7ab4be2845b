"""Lesson 5: watching it learn. From what the active model's run stored at each validation (the attention of its
watched sentences, ``Checkpoint.snapshots``, and its history rows): after how many steps the anti-diagonal appears,
and whether it comes before the run gets its validation sentences right."""

from ..analysis import GOOD
from ..metrics import alignment_metrics
from ..plots import heatmap_figure, learning_figure
from .core import Lesson, Models, Question, Step, not_asked

EXACT = 0.9  # the valid exact match the second step races the anti-diagonal against


def _timeline(models: Models):
    """(steps, mirror peak rate, valid exact match, the snapshot) per validation of the active model's run that
    kept a watched sentence."""
    checkpoint = models.active.checkpoint
    exact_at = {row["step"]: row["valid_exact_match"] for row in checkpoint.history}
    kept = [s for s in checkpoint.snapshots if s["examples"]]
    steps = [s["step"] for s in kept]
    mirror = [
        alignment_metrics((e["tokens"], e["attention"]) for e in s["examples"])["mirror_peak_rate"] or 0.0 for s in kept
    ]
    return steps, mirror, [exact_at.get(step, 0.0) for step in steps], kept


def _first(values, steps, bar: float) -> int | None:
    return next((step for step, value in zip(steps, values, strict=True) if value >= bar), None)


def _when(what: str, step: int | None) -> str:
    return f"{what} never comes in this run" if step is None else f"{what} comes at step {step:,}"


def _bins(steps: list[int]) -> tuple[tuple[str, ...], list[int]]:
    """Four ranges of training steps covering the run's validations, and the last step of each."""
    count = len(steps)
    ends = sorted({steps[min(count - 1, round(count * q) - 1)] for q in (0.25, 0.5, 0.75, 1.0)})
    labels, start = [], 0
    for end in ends:
        labels.append(f"by step {end:,}" if start == 0 else f"steps {start + 1:,} to {end:,}")
        start = end
    return (*labels, "not in this run"), ends


WHY_NONE = (
    "The active model's run stored no attention snapshots: there is no history to watch. Train one on the Train page."
)


def anti_diagonal_appears(models: Models) -> Question:
    steps, mirror, exact, kept = _timeline(models)
    prompt = (
        "While it trained, the run saved the attention of a few validation sentences at every validation. After how "
        "many training steps does the anti-diagonal appear (every step's highest weight on the mirror word)?"
    )
    if not steps:
        return not_asked(prompt, WHY_NONE)
    options, ends = _bins(steps)
    appears = _first(mirror, steps, GOOD)
    truth = options[-1] if appears is None else options[next(i for i, end in enumerate(ends) if appears <= end)]
    if appears is None:
        text = (
            f"It never appears in this run: at its last validation (step {steps[-1]:,}) "
            f"{100 * mirror[-1]:.0f}% of the watched steps peak on the mirror word, short of the {100 * GOOD:.0f}% "
            "of an anti-diagonal the lesson expects in a trained run."
        )
    else:
        index = steps.index(appears)
        before = f"; at the validation before, {100 * mirror[index - 1]:.0f}%" if index else ""
        text = (
            f"It appears at step {appears:,}, validation {index + 1} of {len(steps)}: {100 * mirror[index]:.0f}% of "
            f"the watched steps peak on the mirror word there{before}."
        )
    snapshot = kept[steps.index(appears) if appears is not None else -1]["examples"][0]
    figures = (
        learning_figure(steps, exact, mirror),
        heatmap_figure(snapshot["tokens"], snapshot["output"], snapshot["attention"]),
    )
    return Question(prompt, options, truth, text, figures, ordered=True, expected=appears is not None)


RACE = (
    "the anti-diagonal",
    "both at the same validation",
    f"{round(100 * EXACT)}% valid exact match",
    "one never comes",
)


def which_comes_first(models: Models) -> Question:
    steps, mirror, exact, kept = _timeline(models)
    prompt = (
        f"Which comes first in training: the anti-diagonal, or getting {round(100 * EXACT)}% of the validation "
        "sentences exactly right?"
    )
    if not steps:
        return not_asked(prompt, WHY_NONE)
    aligned, right = _first(mirror, steps, GOOD), _first(exact, steps, EXACT)
    if aligned is None or right is None:
        truth = RACE[3]
    else:
        truth = RACE[0] if aligned < right else RACE[1] if aligned == right else RACE[2]
    text = f"{_when('The anti-diagonal', aligned)}; {_when(f'{round(100 * EXACT)}% valid exact match', right)}."
    expected = truth in RACE[:2]
    if expected:
        text += " The model learns where to look first: right answers follow once each step reads its word."
    elif truth == RACE[2]:
        text += " The lesson expects alignment first; in this run the answers came right before the attention did."
    else:
        text += " The lesson expects both in a finished run; this run never got there."
    return Question(prompt, RACE, truth, text, (learning_figure(steps, exact, mirror),), expected=expected)


WATCHING_IT_LEARN = Lesson(
    "Watching it learn",
    "Predict when, in training, the attention turns into the anti-diagonal; then see the run's own history.",
    (
        Step("When the anti-diagonal appears", anti_diagonal_appears),
        Step("Looking or answering first?", which_comes_first),
    ),
)
