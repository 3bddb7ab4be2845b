"""The lessons (seq2seq.lessons): every step asked of the shipped models and of weak ones, its scoring, and reveals
whose text follows what the model did."""

from dataclasses import replace

import pytest
import torch

from seq2seq.checkpoint import load_checkpoint
from seq2seq.decoding import Reverser
from seq2seq.lessons import LESSONS, Models, Question, score, verdict
from seq2seq.lessons.comparing import OUTCOMES, WHY_ATTENTION
from seq2seq.lessons.learning import WATCHING_IT_LEARN, WHY_NONE
from seq2seq.lessons.looking import ENDS, MASS_BINS, SHAPES, WHERE_IT_LOOKS
from seq2seq.lessons.unknown import UNKNOWN_WORDS, WRITES
from seq2seq.paths import DEFAULT_CHECKPOINT

SHIPPED = [
    DEFAULT_CHECKPOINT,
    DEFAULT_CHECKPOINT.parent / "additive/model.pt",
    DEFAULT_CHECKPOINT.parent / "encdec/model.pt",
]


@pytest.fixture(scope="module")
def real() -> Models:
    """The shipped models, the default active."""
    torch.set_num_threads(1)
    reversers = tuple(Reverser.load(path) for path in SHIPPED)
    return Models(reversers[0], reversers)


@pytest.fixture(scope="module")
def untrained(tiny_checkpoint) -> Models:
    """The tiny model's checkpoint with small random weights in place of its trained ones: a model that learnt
    nothing, alone."""
    checkpoint = load_checkpoint(tiny_checkpoint)
    generator = torch.Generator().manual_seed(0)
    weights = {
        name: 0.3 * torch.randn(value.shape, generator=generator) for name, value in checkpoint.state_dict.items()
    }
    return Models(Reverser.from_checkpoint(replace(checkpoint, state_dict=weights)))


def every_step(models: Models) -> dict[tuple[int, int], Question]:
    return {
        (lesson, step): s.ask(models)
        for lesson, each in enumerate(LESSONS, start=1)
        for step, s in enumerate(each.steps, start=1)
    }


def test_the_catalogue_covers_the_issue_list():
    assert len(LESSONS) == 6
    assert [s.title for s in WHERE_IT_LOOKS.steps] == [
        "The pattern",
        "Alignment",
        "How attention helps",
        "The beginning and the end",
    ]
    assert [s.title for s in WHY_ATTENTION.steps] == ["4 words", "8 words", "15 words"]
    assert all(lesson.title and lesson.steps for lesson in LESSONS)


def test_on_the_shipped_models_every_step_asks_and_the_model_does_what_the_lesson_expects(real):
    for place, question in every_step(real).items():
        assert question.options and question.truth in question.options, place
        assert question.reveal and question.figures, place
        assert question.expected, (place, question.reveal)
        assert "lesson expects" not in question.reveal.lower(), (place, question.reveal)


def test_where_the_default_looks(real):
    pattern, alignment, helps, ends = (step.ask(real) for step in WHERE_IT_LOOKS.steps)
    assert pattern.truth == SHAPES[0] and "At 6 of its 6 word steps" in pattern.reveal
    assert alignment.truth == "5·the" and "the same word" in alignment.reveal  # step 2 reads the second "the"
    assert helps.truth == MASS_BINS[-1]
    assert ends.truth == ENDS[2]


def test_why_attention_shows_the_encoder_decoder_failing_as_the_default_holds(real):
    four, eight, fifteen = (step.ask(real) for step in WHY_ATTENTION.steps)
    for question in (eight, fifteen):
        assert question.truth != OUTCOMES[0]  # the encoder-decoder does not reverse 8 or 15 words
        assert "location-aware attention writes" in question.reveal and "(exact)" in question.reveal
        assert "cannot hold this many words" in question.reveal


def test_when_it_stops_reads_the_length_curves(real):
    additive, default, eos = (step.ask(real) for step in LESSONS[3].steps)
    assert additive.truth == "31 to 45 words"  # 30 words trained on; README: 0.66 at 30, 0 at 40
    assert default.options.index(default.truth) > additive.options.index(additive.truth)  # the default holds longer
    assert "<eos> first becomes the most likely word" in eos.reveal


def test_the_copy_puts_the_unknown_word_back(real):
    writes, copy = (step.ask(real) for step in UNKNOWN_WORDS.steps)
    assert writes.truth == WRITES[0] and "“<unk>”" in writes.reveal
    assert copy.truth == "2·wug" and "copied wug" in copy.reveal


def test_an_untrained_model_is_told_it_does_not_do_what_the_lesson_expects(untrained, real):
    """The same steps on a model that learnt nothing: the text says what it did instead, and never claims the
    pattern the lesson is about."""
    weak = every_step(untrained)
    strong = every_step(real)
    assert not weak[(1, 1)].expected and "not the clean anti-diagonal" in weak[(1, 1)].reveal
    assert weak[(1, 1)].reveal != strong[(1, 1)].reveal
    assert not weak[(1, 3)].expected and "has not learnt to align" in weak[(1, 3)].reveal
    assert not weak[(6, 1)].expected and "has not learnt to pass an unknown word through" in weak[(6, 1)].reveal
    # Alone, it has no encoder-decoder to compare with: the step says so instead of asking.
    assert weak[(2, 1)].options == () and "No encoder–decoder" in weak[(2, 1)].reveal
    for place, question in weak.items():
        assert not question.options or question.truth in question.options, place
        if question.options:  # an asked step: the text names a miss of the lesson's expectation, only then
            assert question.expected != ("lesson expects" in question.reveal.lower()), (place, question.reveal)


def test_the_tiny_shipped_models_are_weak_and_the_text_says_so(shipped):
    """The tiny models of the test fixtures (a 3-epoch encoder-decoder and 2014 model beside a tiny default, trained on
    1-4 words): each reveal follows what they did."""
    reversers = tuple(Reverser.load(path) for path in [shipped, *sorted(shipped.parent.glob("*/model.pt"))])
    questions = every_step(Models(reversers[0], reversers))
    assert questions[(2, 3)].truth != OUTCOMES[0]  # 15 words, far past the 4 the encoder-decoder trained on
    for question in questions.values():
        assert question.expected != ("lesson expects" in question.reveal.lower()), question.reveal


def test_the_encoder_decoder_as_the_active_model_is_told_it_has_no_attention(real):
    """Its weights are fixed: no step about where it looks claims an alignment, and the what-if is not asked."""
    encdec = real.of_kind("encdec")
    questions = every_step(Models(encdec, real.shipped))
    for place in [(1, 1), (1, 2), (1, 3), (1, 4)]:
        assert not questions[place].expected and "This model has no attention" in questions[place].reveal, place
    for place in [(3, 1), (3, 2)]:
        assert questions[place].options == () and "no attention to force" in questions[place].reveal
    assert not questions[(6, 2)].expected


def test_a_run_without_snapshots_has_no_history_to_watch(real):
    bare = replace(real.active.checkpoint, snapshots=[])
    models = Models(Reverser(real.active.model, real.active.vocab, checkpoint=bare))
    for step in WATCHING_IT_LEARN.steps:
        question = step.ask(models)
        assert question.options == () and question.reveal == WHY_NONE


def test_watching_the_default_learn(real):
    appears, race = (step.ask(real) for step in WATCHING_IT_LEARN.steps)
    assert appears.truth == appears.options[0] and "Alignment emerged at step 175" in appears.reveal
    assert race.truth == "the anti-diagonal"


@pytest.mark.parametrize("answer, points", [("b", 1.0), ("a", 0.5), ("c", 0.5), ("d", 0.0)])
def test_an_answer_one_notch_off_an_ordered_scale_scores_half(answer, points):
    question = Question("?", ("a", "b", "c", "d"), "b", "because", ordered=True)
    assert score(question, answer) == points
    assert score(replace(question, ordered=False), answer) == (1.0 if answer == "b" else 0.0)


def test_the_verdict_names_the_truth_and_an_answer_not_offered_is_refused():
    question = Question("?", ("a", "b"), "b", "because")
    assert verdict(question, "b").startswith("Right: b.")
    assert verdict(question, "a") == "Not this time: you said a; the model's answer is b. No point."
    with pytest.raises(ValueError, match="not one of this step's answers"):
        score(question, "z")
