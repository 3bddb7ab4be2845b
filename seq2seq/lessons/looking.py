"""Lessons 1 and 3: where the decoder looks (the pattern, alignment, how attention helps, the beginning and the end)
and what happens when its attention is forced elsewhere (the Decoder page's what-if)."""

from ..analysis import GOOD
from ..app.decoder_view import first_difference, mark_row, recovery_text, weights_figure
from ..decoding import Forcing, has_attention
from ..failures import mirror_position
from ..metrics import alignment_metrics, percent
from ..plots import heatmap_figure, mirror_weight_figure, position_labels
from ..vocab import EOS
from .core import Lesson, Models, Question, Step, decoded, lesson_sentence, not_asked, peak, test_sample

SHAPES = (
    "an anti-diagonal: top right to bottom left",
    "a diagonal: top left to bottom right",
    "one column: the same word read at every step",
    "no shape: the weight spread evenly",
)
ASKED_STEP = 1  # 0-based: the second word written, the step lessons 1 and 3 ask about


def _sentence(models: Models):
    tokens = lesson_sentence(models.active)
    return tokens, decoded(models.active, tuple(tokens))


def _labels(tokens) -> tuple[str, ...]:
    return tuple(position_labels([*tokens, EOS], escape=False))


def _no_attention(models: Models) -> str:
    return (
        "This model has no attention: its weights are fixed, the same whatever the word, so they say nothing about "
        "where it looks. The lesson expects an attention model: pick one in the sidebar."
    )


# ------------------------------------------------------------------------------------------------- lesson 1
def the_pattern(models: Models) -> Question:
    tokens, result = _sentence(models)
    n = len(tokens)
    prompt = (
        f"The model will reverse “{' '.join(tokens)}”. Its attention is a heatmap: one row per word it writes, one "
        "column per word it reads. Which shape will it have?"
    )
    rows = result.attention[:n]
    peaks = [peak(row) for row in rows]
    highest = sum(max(row) for row in rows) / len(rows)
    shares = {
        SHAPES[0]: sum(p == mirror_position(i, n) for i, p in enumerate(peaks)) / n,
        SHAPES[1]: sum(p == i for i, p in enumerate(peaks)) / n,
        SHAPES[2]: max(peaks.count(p) for p in peaks) / n,
    }
    even = highest < 2 / (n + 1)  # no position gets even twice its even share
    truth = SHAPES[3] if even else max(shares, key=shares.get)
    mirror_hits = round(shares[SHAPES[0]] * n)
    text = (
        f"At {mirror_hits} of its {n} word steps the highest weight falls on the mirror word, the one the reversal "
        f"copies there; a step's highest weight is {highest:.2f} on average. Its heatmap is {truth}."
    )
    expected = has_attention(models.active.model) and truth == SHAPES[0] and shares[SHAPES[0]] >= GOOD
    if expected:
        text += " Writing the last word first means reading the last word first: the anti-diagonal is the reversal."
    elif not has_attention(models.active.model):
        text += " " + _no_attention(models)
    else:
        text += (
            " That is not the clean anti-diagonal the lesson expects: this model has not learnt to read the mirror "
            "word at every step (a weak or unfinished model)."
        )
    figure = heatmap_figure(result.tokens, result.output, result.attention)
    return Question(prompt, SHAPES, truth, text, (figure,), expected=expected)


def alignment(models: Models) -> Question:
    tokens, result = _sentence(models)
    n = len(tokens)
    if n < 2:
        return not_asked("Which word does step 2 read?", "The lesson's sentence has one word: there is no step 2.")
    labels = _labels(tokens)
    record = result.found.steps[ASKED_STEP] if len(result.found.steps) > ASKED_STEP else None
    prompt = (
        f"Reversing “{' '.join(tokens)}”, step {ASKED_STEP + 1} writes the second word of the output. Click the input "
        "word you expect it to read most."
    )
    if record is None:
        return not_asked(prompt, f"The model stopped after {len(result.found.steps)} step(s): there is no step 2.")
    looked = peak(record.weights)
    mirror = mirror_position(ASKED_STEP, n)
    wrote = "ends the sentence" if record.token == EOS else f"writes “{record.token}”"
    text = (
        f"Step {ASKED_STEP + 1} puts weight {record.weights[looked]:.2f} on {labels[looked]} and {wrote}. The word "
        f"the reversal needs there is {labels[mirror]}"
    )
    expected = looked == mirror and has_attention(models.active.model)
    if not has_attention(models.active.model):
        text += ". " + _no_attention(models)
    elif expected:
        text += ": the same word. Each step of the reversal finds its word by where it is, not by what it is."
    else:
        text += (
            f", which gets weight {record.weights[mirror]:.2f}: this model does not look where the reversal needs "
            "it to, as the lesson expects."
        )
    figure = weights_figure(record, tokens)
    return Question(prompt, labels, labels[looked], text, (figure,), ordered=True, expected=expected)


MASS_BINS = ("under a quarter", "a quarter to a half", "a half to 90%", "over 90%")


def how_attention_helps(models: Models) -> Question:
    results = test_sample(models.active)
    prompt = (
        f"Over {len(results)} of its test sentences: when the decoder writes a word, how much of its attention, on "
        "average, is on the one input word it must copy?"
    )
    if not results:
        return not_asked(prompt, "This model holds no test sentences to measure over.")
    metrics = alignment_metrics((r.tokens, r.attention) for r in results)
    mass = metrics["mirror_mass"] or 0.0
    truth = MASS_BINS[0 if mass < 0.25 else 1 if mass < 0.5 else 2 if mass < 0.9 else 3]
    uniform = sum(1 / (len(r.tokens) + 1) for r in results) / len(results)
    text = (
        f"On average {percent(mass)} of a step's attention is on the word it must copy, against {percent(uniform)} "
        f"if it were spread evenly; {percent(metrics['mirror_peak_rate'])} of the steps peak on that word."
    )
    expected = has_attention(models.active.model) and mass >= 0.5
    if expected:
        text += (
            " So each step reads the one word it needs, wherever it is: the sentence does not have to fit in one "
            "fixed vector, which is why attention holds up on long sentences."
        )
    elif not has_attention(models.active.model):
        text += " " + _no_attention(models)
    else:
        text += " This model does not lean on one word per step, as the lesson expects: it has not learnt to align."
    weights = [
        row[mirror_position(i, len(r.tokens))] for r in results for i, row in enumerate(r.attention[: len(r.tokens)])
    ]
    return Question(prompt, MASS_BINS, truth, text, (mirror_weight_figure(weights),), ordered=True, expected=expected)


ENDS = ("the first input word", "the last input word", "the input's <eos>", "another word")


def the_beginning_and_the_end(models: Models) -> Question:
    tokens, result = _sentence(models)
    n = len(tokens)
    prompt = (
        f"Once it has written every word of “{' '.join(tokens)}”, the decoder writes <eos> to stop. Where does it "
        "look at that last step?"
    )
    last = result.attention[-1]
    looked = peak(last)
    truth = ENDS[0] if looked == 0 else ENDS[1] if looked == n - 1 else ENDS[2] if looked == n else ENDS[3]
    ended = result.found.ended
    text = f"Its last step ({'<eos>' if ended else 'cut off at the length cap'}) looks at {_labels(tokens)[looked]}"
    text += f" with weight {last[looked]:.2f}."
    metrics = alignment_metrics((r.tokens, r.attention) for r in test_sample(models.active))
    if metrics["steps"]:
        text += (
            f" Over its test sentences, the <eos> step peaks on the input's <eos> in "
            f"{percent(metrics['mirror_peak_eos'])} of them, and the first step on the last word in "
            f"{percent(metrics['mirror_peak_first'])}."
        )
    expected = ended and truth == ENDS[2] and has_attention(models.active.model)
    if not has_attention(models.active.model):
        text += " " + _no_attention(models)
    elif expected:
        text += " The end of the output mirrors the end of the input: reading the <eos> marker is how it knows to stop."
    else:
        text += " This is not the input's <eos> the lesson expects: this model's end is not aligned with the input's."
    figure = heatmap_figure(result.tokens, result.output, result.attention)
    return Question(prompt, ENDS, truth, text, (figure,), expected=expected)


WHERE_IT_LOOKS = Lesson(
    "Where does the decoder look?",
    "Four questions about the attention of one sentence: its shape, one step's word, how much of a step's attention "
    "is on one word, and the last step.",
    (
        Step("The pattern", the_pattern),
        Step("Alignment", alignment),
        Step("How attention helps", how_attention_helps),
        Step("The beginning and the end", the_beginning_and_the_end),
    ),
)


# ------------------------------------------------------------------------------------------------- lesson 3
def _forced(models: Models):
    """The lesson sentence, its own decode, the position step 2 is forced onto, and the decode with that forcing:
    the first position that holds another word than the one step 2 should read (the input's <eos> when none)."""
    tokens, own = _sentence(models)
    n = len(tokens)
    mirror = mirror_position(ASKED_STEP, n)
    forced = next((p for p in range(n) if tokens[p] != tokens[mirror]), n)
    changed = models.active.reverse_tokens([tokens], forcing=Forcing(attention=(ASKED_STEP, forced)), record=True)[0]
    return tokens, own, forced, changed


FORCED_OPTIONS = ("the word it is made to read", "its own word anyway", "another word", "<eos>: it stops")


NOT_FORCEABLE = (
    "This model has no attention to force: its context is the same whatever the step looks at. The lesson needs an "
    "attention model: pick one in the sidebar."
)


def what_step_writes(models: Models) -> Question:
    if not has_attention(models.active.model):
        return not_asked("What does step 2 write when its attention is forced elsewhere?", NOT_FORCEABLE)
    tokens, own, forced, changed = _forced(models)
    labels = _labels(tokens)
    if len(tokens) < 2 or len(own.output) <= ASKED_STEP:
        return not_asked("What does step 2 write?", "The lesson's sentence is too short to have a step 2 to force.")
    mine = own.output[ASKED_STEP]
    prompt = (
        f"Reversing “{' '.join(tokens)}”, step {ASKED_STEP + 1} writes “{mine}”. Now all of its attention is forced "
        f"onto {labels[forced]}. What does step {ASKED_STEP + 1} write now?"
    )
    said = changed.output[ASKED_STEP] if len(changed.output) > ASKED_STEP else EOS
    read = tokens[forced] if forced < len(tokens) else EOS
    truth = (
        FORCED_OPTIONS[3]
        if said == EOS
        else FORCED_OPTIONS[0]
        if said == read
        else FORCED_OPTIONS[1]
        if said == mine
        else FORCED_OPTIONS[2]
    )
    text = f"With its attention on {labels[forced]}, step {ASKED_STEP + 1} writes “{said}” instead of “{mine}”."
    expected = truth == FORCED_OPTIONS[0]
    if expected:
        text += " It writes what it reads: the decoder copies the word its attention points at."
    else:
        text += (
            " It does not write the word it is made to read, as the lesson expects: this model does not copy what its "
            "attention points at."
        )
    figures = []
    for decode in (own, changed):
        figure = heatmap_figure(decode.tokens, decode.output, decode.attention)
        mark_row(figure, first_difference(own.raw_output, changed.raw_output))
        figures.append(figure)
    return Question(prompt, FORCED_OPTIONS, truth, text, tuple(figures), expected=expected)


TRACK_OPTIONS = ("yes: every later word is its own again", "no: later words change too", "the output ends there")
TRACK_MEANINGS = {  # what each outcome says about the decoder: no outcome is the wrong one for a model to have
    TRACK_OPTIONS[0]: "Each later step finds its own word again: one wrong look did not derail the rest.",
    TRACK_OPTIONS[1]: "The steps after it read on from where it was made to look: the decoder's state, and a "
    "location-aware model's memory of where it looked last, carry the forced look forward.",
    TRACK_OPTIONS[
        2
    ]: "The forced look made it stop there: from that word, the end looked like the next thing to write.",
}


def back_on_track(models: Models) -> Question:
    if not has_attention(models.active.model):
        return not_asked("Does the output get back on track after a forced look?", NOT_FORCEABLE)
    tokens, own, forced, changed = _forced(models)
    prompt = (
        f"After step {ASKED_STEP + 1}'s attention was forced onto {_labels(tokens)[forced]}, the steps after it are "
        "free again. Does the rest of the output get back on track?"
    )
    first = first_difference(own.raw_output, changed.raw_output)
    later = [
        x != y for x, y in zip(own.raw_output[ASKED_STEP + 1 :], changed.raw_output[ASKED_STEP + 1 :], strict=False)
    ]
    if first is not None and len(changed.raw_output) == first:
        truth = TRACK_OPTIONS[2]
    elif any(later) or len(own.raw_output) != len(changed.raw_output):
        truth = TRACK_OPTIONS[1]
    else:
        truth = TRACK_OPTIONS[0]
    text = (
        f"Its own output: “{' '.join(own.output)}”; with the change: “{' '.join(changed.output)}”. "
        f"{recovery_text(own.raw_output, changed.raw_output)}"
    )
    text += " " + TRACK_MEANINGS[truth]
    figure = heatmap_figure(changed.tokens, changed.output, changed.attention)
    mark_row(figure, first)
    return Question(prompt, TRACK_OPTIONS, truth, text, (figure,))


WHAT_IF = Lesson(
    "What if it looked elsewhere?",
    "Force one step's attention onto another word, predict what it writes and what follows, then see the what-if.",
    (Step("Forced attention", what_step_writes), Step("Back on track?", back_on_track)),
)
