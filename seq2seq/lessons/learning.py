"""Lesson 5: watching it learn, from the active model's replay (``seq2seq.replay``: the moment it took at each
validation, and its history rows): after how many steps the anti-diagonal appears, and whether it comes before the
run gets its validation sentences right. "Appears" is the replay's own marker, "alignment emerges", as the Train
page's replay marks it."""

from ..decoding import has_attention
from ..plots import heatmap_figure, replay_curve_figure
from ..replay import EXACT_MARK, emergence, emergence_text, exact_mark, loaded_replay, markers
from .core import Lesson, Models, Question, Step, not_asked

WHY_NONE = "The active model's run kept no replay: there is no history to watch. Train one on the Train page."


def _replay(models: Models):
    """(the run's moments, its history rows) for the active model."""
    checkpoint = models.active.checkpoint
    return loaded_replay(checkpoint.snapshots, has_attention(models.active.model)), checkpoint.history


def _curves(history, moments):
    return replay_curve_figure(history, [(m.kind, m.label, m.step) for m in markers(history, moments)])


def _bins(steps: list[int]) -> tuple[tuple[str, ...], list[int]]:
    """Four ranges of training steps covering the run's moments, and the last step of each."""
    count = len(steps)
    ends = sorted({steps[min(count - 1, round(count * q) - 1)] for q in (0.25, 0.5, 0.75, 1.0)})
    labels, start = [], 0
    for end in ends:
        labels.append(f"by step {end:,}" if start == 0 else f"steps {start + 1:,} to {end:,}")
        start = end
    return (*labels, "not in this run"), ends


def anti_diagonal_appears(models: Models) -> Question:
    moments, history = _replay(models)
    prompt = (
        "While it trained, the run kept the attention of a few validation sentences at every validation. After how "
        "many training steps does the anti-diagonal appear (nearly every step's highest weight on the mirror word)?"
    )
    if not moments:
        return not_asked(prompt, WHY_NONE)
    options, ends = _bins([m["step"] for m in moments])
    found = emergence(moments)
    truth = options[-1] if found is None else options[next(i for i, end in enumerate(ends) if found.step <= end)]
    text = emergence_text(history, moments)
    if found is None:
        text += " The lesson expects it to appear in a trained attention model; in this run it does not."
    shown = next((m for m in moments if found and m["step"] == found.step), moments[-1])["examples"][0]
    figures = (_curves(history, moments), heatmap_figure(shown["tokens"], shown["output"], shown["attention"]))
    return Question(prompt, options, truth, text, figures, ordered=True, expected=found is not None)


RACE = ("the anti-diagonal", "both at the same validation", f"{EXACT_MARK:.0%} valid exact match", "one never comes")


def which_comes_first(models: Models) -> Question:
    moments, history = _replay(models)
    prompt = (
        f"Which comes first in training: the anti-diagonal, or getting {EXACT_MARK:.0%} of the validation sentences "
        "exactly right?"
    )
    if not moments:
        return not_asked(prompt, WHY_NONE)
    aligned, right = emergence(moments), exact_mark(history)
    if aligned is None or right is None:
        truth = RACE[3]
    else:
        truth = RACE[0] if aligned.step < right.step else RACE[1] if aligned.step == right.step else RACE[2]
    text = emergence_text(history, moments)
    expected = truth in RACE[:2]
    if expected:
        text += " The model learns where to look first: right answers follow once each step reads its word."
    elif truth == RACE[2]:
        text += " The lesson expects alignment first; in this run the answers came right before the attention did."
    else:
        text += " The lesson expects both in a finished run; in this run one of them never came."
    return Question(prompt, RACE, truth, text, (_curves(history, moments),), expected=expected)


WATCHING_IT_LEARN = Lesson(
    "Watching it learn",
    "Predict when, in training, the attention turns into the anti-diagonal; then see the run's own replay.",
    (
        Step("When the anti-diagonal appears", anti_diagonal_appears),
        Step("Looking or answering first?", which_comes_first),
    ),
)
