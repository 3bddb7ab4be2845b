"""The Learn page through ``streamlit.testing.v1.AppTest``: a lesson walked end to end, its links, the class it may
join (a fake ``seq2seq.app.classes`` with the agreed interface), and Try it's offer to a first-time visitor."""

import sys
import types

import pytest
from streamlit.testing.v1 import AppTest

from seq2seq.app.runs import RUNS_ENV
from seq2seq.decoding import Reverser
from seq2seq.lessons import LESSONS, Models
from seq2seq.paths import CHECKPOINT_ENV
from tests.app.conftest import APP

LEARN = "pages/learn.py"


@pytest.fixture
def artifacts(monkeypatch, tmp_path, shipped):
    """The tiny shipped models (a default, a 2014 model and an encoder-decoder) as the app's shipped ones."""
    monkeypatch.setenv(CHECKPOINT_ENV, str(shipped))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    return shipped


@pytest.fixture
def classes(monkeypatch):
    """A fake ``seq2seq.app.classes``: class "good" exists, any other code does not; ``calls`` lists every call."""
    fake = types.ModuleType("seq2seq.app.classes")
    fake.calls = []

    class ClassUnavailable(RuntimeError):
        pass

    def check_class(code, path=None, now=None):
        fake.calls.append(("check", code))
        if code != "good":
            raise ClassUnavailable(f"there is no class {code!r} (or it has expired).")

    fake.ClassUnavailable = ClassUnavailable
    fake.check_class = check_class
    fake.record_position = lambda code, sid, lesson, step, path=None, now=None: fake.calls.append(
        ("position", code, lesson, step)
    )
    fake.record_answer = lambda code, sid, lesson, step, answer, truth, correct, path=None, now=None: fake.calls.append(
        ("answer", code, lesson, step, answer, truth, correct)
    )
    monkeypatch.setitem(sys.modules, "seq2seq.app.classes", fake)
    return fake


def questions(shipped) -> dict[tuple[int, int], object]:
    """What the page asks, asked of the same models here."""
    reversers = tuple(Reverser.load(path) for path in [shipped, *sorted(shipped.parent.glob("*/model.pt"))])
    models = Models(reversers[0], reversers)
    return {(1, step): s.ask(models) for step, s in enumerate(LESSONS[0].steps, start=1)}


def open_learn(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(LEARN)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


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


def test_a_class_link_records_where_the_learner_is_and_each_answer(artifacts, classes):
    first = questions(artifacts)[(1, 1)]
    truth, wrong = first.truth, wrong_option(first)
    at = open_learn({"class": "good", "lesson": "1"})
    assert ("check", "good") in classes.calls and ("position", "good", 1, 1) in classes.calls
    assert at.query_params["class"] == "good"
    answer(at, wrong)
    assert classes.calls[-1] == ("answer", "good", 1, 1, wrong, truth, False)
    at.button(key="learn_retry").click().run()
    answer(at, truth)
    assert classes.calls[-1] == ("answer", "good", 1, 1, truth, truth, True)
    at.button(key="learn_next").click().run()
    assert classes.calls[-1] == ("position", "good", 1, 2)


def test_a_class_that_cannot_be_joined_gets_a_note_and_the_lessons_go_on(artifacts, classes):
    at = open_learn({"class": "gone"})
    assert "The class cannot be used: there is no class 'gone' (or it has expired). The lessons go on" in text(at)
    answer(at, at.radio[0].options[0])
    assert [call[0] for call in classes.calls] == ["check"]  # nothing recorded for a class that is not there
    assert "class" not in at.query_params


def test_try_it_offers_the_lessons_until_the_session_has_been_there(artifacts):
    at = AppTest.from_file(APP, default_timeout=120).run()
    offers = [link for link in at.get("page_link") if "Learn it by predicting" in link.proto.label]
    assert offers and offers[0].proto.page == "Learn"
    at.switch_page(LEARN).run()
    at.switch_page("pages/try_it.py").run()
    assert not [link for link in at.get("page_link") if "Learn it by predicting" in link.proto.label]
