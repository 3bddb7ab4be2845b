"""Lessons 2 and 4, on the shipped models side by side: why attention (what the encoder–decoder without it writes,
beside the 2014 model and the default), and when each model stops being right as sentences grow (its per-length
curve, and the ``<eos>`` decision)."""

from ..app.decoder_view import stop_figure, stop_step, stop_text
from ..failures import FAILURE_MEANINGS, failure_label, first_error
from ..metrics import percent
from ..plots import length_curves_figure
from ..stress import trained_lengths
from .core import (
    FAILS_BELOW,
    Lesson,
    Models,
    Question,
    Step,
    decoded,
    first_failing_length,
    kind_name,
    length_curve,
    not_asked,
    sentence_of_length,
)

KINDS = ("encdec", "additive", "location")  # the encoder-decoder, the 2014 model, the default
WHY_LENGTHS = (4, 8, 15)
OUTCOMES = ("exactly the reversal", "right at first, then wrong", "wrong from the first word")


def _curves_figure(models: Models):
    """Every shipped model's length curve on one figure, with the longest example the first one trained on."""
    present = [r for r in (models.of_kind(kind) for kind in KINDS) if r is not None]
    curves = {kind_name(r): length_curve(r) for r in present}
    return length_curves_figure(curves, FAILS_BELOW, trained_lengths(present[0].checkpoint)[1] if present else None)


def _outcome(result) -> str:
    if result.match:
        return OUTCOMES[0]
    return OUTCOMES[1] if (first_error(result) or 0) >= 1 else OUTCOMES[2]


def _said(reverser, result) -> str:
    how = "exact" if result.match else f"no match: {failure_label(result, reverser.model.decoder.attention.aligns)}"
    return f"{kind_name(reverser)} writes “{' '.join(result.output)}” ({how})"


def why_attention(length: int):
    def ask(models: Models) -> Question:
        encdec = models.of_kind("encdec")
        prompt = (
            "The encoder–decoder without attention squeezes the whole sentence into one vector. What does it write "
            f"for a sentence of {length} words?"
        )
        if encdec is None:
            return not_asked(
                prompt, "No encoder–decoder without attention is loaded here, so this step cannot be shown."
            )
        tokens = sentence_of_length(encdec, length)
        prompt = prompt.replace("a sentence", f"“{' '.join(tokens)}”, a sentence", 1)
        result = decoded(encdec, tuple(tokens))
        truth = _outcome(result)
        lines = [_said(encdec, result)]
        others = [r for r in (models.of_kind("additive"), models.of_kind("location")) if r is not None]
        attention_right = True
        for other in others:
            theirs = decoded(other, tuple(tokens))
            attention_right &= theirs.match
            lines.append(_said(other, theirs))
        text = "; ".join(lines) + "."
        expected = (length <= 4 or not result.match) and attention_right
        if expected and not result.match:
            text += (
                " The one vector cannot hold this many words; the models with attention read each word again when "
                "they need it."
            )
        elif expected:
            text += " A short sentence still fits in one vector: the trouble starts as sentences grow."
        elif result.match and length > 4:
            text += f" The lesson expects the encoder–decoder to fail at {length} words: this one does not."
        else:
            text += " The lesson expects the models with attention to get it right: not all of them do here."
        return Question(prompt, OUTCOMES, truth, text, (_curves_figure(models),), ordered=True, expected=expected)

    return ask


WHY_ATTENTION = Lesson(
    "Why attention?",
    "Predict what the encoder–decoder without attention writes for a sentence of 4, 8 and 15 words, then see it beside "
    "the 2014 model and the default, and each one's exact match by length.",
    tuple(Step(f"{n} words", why_attention(n)) for n in WHY_LENGTHS),
)


# ------------------------------------------------------------------------------------------------- lesson 4
def _bins(seen: int) -> tuple[str, ...]:
    middle = round(1.5 * seen)
    return (
        f"at {seen} words or fewer",
        f"{seen + 1} to {middle} words",
        f"{middle + 1} to {2 * seen} words",
        f"not up to {2 * seen} words",
    )


def first_failure(kind: str):
    def ask(models: Models) -> Question:
        reverser = models.of_kind(kind) or models.active
        seen = trained_lengths(reverser.checkpoint)[1]
        options = _bins(seen)
        prompt = (
            f"The {kind_name(reverser)} model trained on sentences of up to {seen} words. From which length on does "
            f"it get fewer than {round(10 * FAILS_BELOW)} in 10 sentences exactly right?"
        )
        curve = length_curve(reverser)
        failing = first_failing_length(curve)
        middle = round(1.5 * seen)
        truth = options[3 if failing is None else 0 if failing <= seen else 1 if failing <= middle else 2]
        if failing is None:
            text = f"It never falls below that, up to {2 * seen} words ({percent(curve[max(curve)])} exact there)."
        else:
            text = (
                f"It first falls below at {failing} words: {percent(curve[failing])} of the sentences of that length "
                f"come back exactly reversed."
            )
        expected = failing is None or failing > seen
        if expected:
            text += " It holds over every length it trained on, and goes past them."
        else:
            text += " That is within the lengths it trained on: the lesson expects it to hold there, and it does not."
        return Question(prompt, options, truth, text, (_curves_figure(models),), ordered=True, expected=expected)

    return ask


STOPS = ("too soon", "exactly at the end", "too late, or never")


def eos_decision(models: Models) -> Question:
    reverser = models.of_kind("location") or models.active
    seen = trained_lengths(reverser.checkpoint)[1]
    failing = first_failing_length(length_curve(reverser))
    length = failing or 2 * seen
    tokens = sentence_of_length(reverser, length)
    result = decoded(reverser, tuple(tokens))
    prompt = (
        f"The {kind_name(reverser)} model decides at each step whether to write <eos> and stop. On a sentence of "
        f"{length} words ({'where it first fails' if failing else 'twice its longest training example'}), when does "
        "<eos> become its most likely word?"
    )
    stop = stop_step(result.found.steps)
    n = len(tokens)
    truth = STOPS[2] if stop is None or stop > n else STOPS[1] if stop == n else STOPS[0]
    text = stop_text(result)
    if not result.match:
        label = failure_label(result, reverser.model.decoder.attention.aligns)
        text += f" The decode is wrong: {label} ({FAILURE_MEANINGS[label]})."
    else:
        text += " The decode is exact."
    expected = truth == STOPS[1] or not result.match
    if not expected:
        text += " The lesson expects the stop to be where a long sentence goes wrong; here it is not."
    return Question(prompt, STOPS, truth, text, (stop_figure(result),), ordered=True, expected=expected)


WHEN_IT_STOPS = Lesson(
    "When does it stop?",
    "Predict the length at which each model first fails, then see its curve, and the <eos> decision on a long one.",
    (
        Step("The 2014 model", first_failure("additive")),
        Step("The default", first_failure("location")),
        Step("The <eos> decision", eos_decision),
    ),
)
