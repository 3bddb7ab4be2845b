"""The Learn page through ``streamlit.testing.v1.AppTest``: a lesson walked end to end, its links, the class it may
join (``seq2seq.app.classes``, in the runs folder's database), and Try it's offer to a first-time visitor."""

import pytest
from streamlit.testing.v1 import AppTest

from seq2seq.app.classes import class_view, create_class
from seq2seq.app.database import database_path
from seq2seq.app.runs import RUNS_ENV
from seq2seq.decoding import Reverser
from seq2seq.lessons import LESSONS, Models
from seq2seq.paths import CHECKPOINT_ENV
from tests.app.conftest import APP, open_app

LEARN = "pages/learn.py"


@pytest.fixture
def artifacts(monkeypatch, tmp_path, shipped):
    """The tiny shipped models (a default, a 2014 model and an encoder-decoder) as the app's shipped ones."""
    monkeypatch.setenv(CHECKPOINT_ENV, str(shipped))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    return shipped


def questions(shipped) -> dict[tuple[int, int], object]:
    """What the page asks, asked of the same models here."""
    reversers = tuple(Reverser.load(path) for path in [shipped, *sorted(shipped.parent.glob("*/model.pt"))])
    models = Models(reversers[0], reversers)
    return {(1, step): s.ask(models) for step, s in enumerate(LESSONS[0].steps, start=1)}


def open_learn(params: dict | None = None) -> AppTest:
    return open_app(LEARN, params, timeout=120)


def text(at: AppTest) -> str:
    shown = [e.value for e in [*at.markdown, *at.subheader, *at.info, *at.warning]] + [e.label for e in at.expander]
    return "\n".join(line.replace("\\", "") for line in shown)


def answer(at: AppTest, choice: str) -> None:
    (choices,) = at.radio  # the step's only radio, under a key of its own for each try
    choices.set_value(choice).run()
    at.button(key="learn_check").click().run()
    assert not at.exception, at.exception


def wrong_option(question) -> str:
    """An answer that scores nothing: not the truth, nor next to it on an ordered scale."""
    truth = question.options.index(question.truth)
    return next(o for i, o in enumerate(question.options) if abs(i - truth) > (1 if question.ordered else 0))


def test_a_lesson_walked_end_to_end(artifacts):
    asked = questions(artifacts)
    at = open_learn()
    assert "No answers yet: 16 steps in 6 lessons." in text(at)
    assert "Step 1 of 4: The pattern" in text(at)

    first = asked[(1, 1)]
    answer(at, wrong_option(first))
    assert at.error[0].value.replace("\\", "").startswith("Not this time")
    assert not at.radio and not [b for b in at.button if b.key == "learn_check"]  # the verdict replaces the choices
    assert first.reveal in text(at)  # the reveal, computed from the model
    assert "Score: 0 of 1" in text(at)

    at.button(key="learn_retry").click().run()
    answer(at, first.truth)
    assert at.success[0].value.replace("\\", "").startswith(f"Right: {first.truth}")
    assert "Score: 1 of 1" in text(at)

    at.button(key="learn_next").click().run()  # to step 2
    assert "Step 2 of 4: Alignment" in text(at)
    assert dict(at.query_params) == {"lesson": "1", "step": "2", "model": "default"}
    at.button(key="learn_next").click().run()
    answer(at, asked[(1, 3)].truth)
    at.button(key="learn_back").click().run()
    assert "Step 2 of 4" in text(at) and not at.success  # skipped: still unanswered
    at.button(key="learn_next").click().run()
    assert at.success and "Score: 2 of 2" in text(at)  # step 3 kept its answer
    at.button(key="learn_next").click().run()
    answer(at, asked[(1, 4)].truth)
    assert asked[(1, 4)].reveal in text(at) and "Score: 3 of 3" in text(at)
    at.button(key="learn_next").click().run()  # past the lesson's last step: the next lesson
    assert "Step 1 of 3: 4 words" in text(at)
    assert at.selectbox(key="learn_lesson_picker").value == 2


def test_a_link_opens_its_step_and_a_step_that_does_not_exist_is_dropped_with_a_note(artifacts):
    at = open_learn({"lesson": "4", "step": "3"})
    assert "Step 3 of 3: The <eos> decision" in text(at)
    at = open_learn({"lesson": "9", "step": "2"})
    assert "The link's lesson 9 was ignored: there are 6 lessons." in text(at)
    assert "Step 2 of 4: Alignment" in text(at)
    at = open_learn({"lesson": "2", "step": "7"})
    assert "The link's step 7 was ignored: lesson 2 has 3 steps." in text(at)
    assert "Step 1 of 3" in text(at)


def test_a_class_link_records_where_the_learner_is_and_each_answer(artifacts):
    first = questions(artifacts)[(1, 1)]
    truth, wrong = first.truth, wrong_option(first)
    codes = create_class(database_path())
    at = open_learn({"class": codes.code, "lesson": "1"})
    assert at.query_params["class"] == codes.code
    (counts,) = class_view(codes.code, codes.teacher_key).steps
    assert (counts.lesson, counts.step, counts.here, counts.answered) == (1, 1, 1, 0)  # here, not answered yet
    answer(at, wrong)
    (counts,) = class_view(codes.code, codes.teacher_key).steps
    assert (counts.answers, counts.truths, counts.correct) == ({wrong: 1}, (truth,), 0)
    at.button(key="learn_retry").click().run()
    answer(at, truth)  # a second answer replaces the first
    (counts,) = class_view(codes.code, codes.teacher_key).steps
    assert (counts.answers, counts.correct) == ({truth: 1}, 1)
    at.button(key="learn_next").click().run()
    assert [(s.step, s.here) for s in class_view(codes.code, codes.teacher_key).steps] == [(1, 0), (2, 1)]


@pytest.mark.parametrize("case", ["unknown code", "corrupted database"])
def test_a_class_that_cannot_be_joined_gets_a_note_and_the_lessons_go_on(artifacts, case):
    code = create_class(database_path()).code
    if case == "unknown code":
        code = "zzzzzzzzzz"
    else:
        database_path().write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    at = open_learn({"class": code})
    (note,) = [w.value.replace("\\", "") for w in at.warning]
    assert note.startswith("The class cannot be used: ") and note.endswith("The lessons go on without it.")
    assert ("There is no class 'zzzzzzzzzz'" if case == "unknown code" else "cannot be reached") in note
    question = questions(artifacts)[(1, 1)]
    answer(at, question.truth)  # the lessons go on, scored, without the class
    assert "Score: 1 of 1" in text(at) and "class" not in at.query_params


def test_try_it_offers_the_lessons_until_the_session_has_been_there(artifacts):
    at = AppTest.from_file(APP, default_timeout=120).run()
    offers = [link for link in at.get("page_link") if "Learn it by predicting" in link.proto.label]
    assert offers and offers[0].proto.page == "Learn"
    at.switch_page(LEARN).run()
    at.switch_page("pages/try_it.py").run()
    assert not [link for link in at.get("page_link") if "Learn it by predicting" in link.proto.label]
