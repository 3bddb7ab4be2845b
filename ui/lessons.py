"""The Learn page's Streamlit glue: each step's question made once per server, the learner's place and score in the
browser session (and the link), and the class the learner may have joined (``seq2seq.app.classes``).

A step's question is made with its reveal (``seq2seq.lessons``), once per server for the same models, so an answer
only picks which verdict to show. A class that cannot be used (unknown, expired, full, its database unavailable) is
dropped with a one-line note: the lessons go on without it.
"""

import secrets
from dataclasses import dataclass

import streamlit as st

from seq2seq.app.models import LoadedModel, shipped_models
from seq2seq.checkpoint import CheckpointError
from seq2seq.lessons import LESSONS, Models, Question, score
from ui import links, session

PLACE_KEY = "learn_place"  # (lesson, step), both from 1
ANSWERS_KEY = "learn_answers"  # (lesson, step) -> (the answer, its points)
TRIES_KEY = "learn_tries"  # (lesson, step) -> how many times the learner pressed Try again
CLASS_KEY = "learn_class"  # the class code this session joined
CLASS_NOTE_KEY = "learn_class_note"  # why the class was dropped, shown once
RECORDED_KEY = "learn_recorded_place"  # the place last told to the class
SESSION_ID_KEY = "learn_session_id"  # this browser session's anonymous token in a class
VISITED_KEY = "learn_visited"  # Try it offers the lessons until the session has been to Learn


@dataclass
class PreparedStep:
    """A step's question for some models. ``models`` is held so that their ``id``s, the cache key below, cannot be
    reused by other models while the entry lives."""

    models: tuple[LoadedModel, ...]
    question: Question


@st.cache_resource(show_spinner=False, max_entries=64)
def prepared_step(lesson: int, step: int, model_ids: tuple[int, ...], _models: tuple[LoadedModel, ...]) -> PreparedStep:
    """Step ``step`` of lesson ``lesson`` asked of the models ``model_ids`` (the active one first, then the shipped
    ones), once per server."""
    active, *shipped = _models
    question = LESSONS[lesson - 1].steps[step - 1].ask(Models(active.reverser, tuple(m.reverser for m in shipped)))
    return PreparedStep(_models, question)


def question_for(lesson: int, step: int, active: LoadedModel) -> Question:
    models = (active, *shipped_loaded())
    return prepared_step(lesson, step, tuple(map(id, models)), models).question


def shipped_loaded() -> list[LoadedModel]:
    """The shipped models that load (one that does not is left out: a step that needs it says so)."""
    loaded = []
    for path in shipped_models():
        try:
            loaded.append(session.model_cache().get(path))
        except CheckpointError:
            continue
    return loaded


# ------------------------------------------------------------------------------------------------- place and score
def place() -> tuple[int, int]:
    return st.session_state.setdefault(PLACE_KEY, (1, 1))


def go_to(lesson: int, step: int) -> None:
    st.session_state[PLACE_KEY] = (lesson, step)


def next_place(lesson: int, step: int) -> tuple[int, int] | None:
    """The step after this one (the next lesson's first after a lesson's last); None after the last."""
    if step < len(LESSONS[lesson - 1].steps):
        return lesson, step + 1
    return (lesson + 1, 1) if lesson < len(LESSONS) else None


def previous_place(lesson: int, step: int) -> tuple[int, int] | None:
    if step > 1:
        return lesson, step - 1
    return (lesson - 1, len(LESSONS[lesson - 2].steps)) if lesson > 1 else None


def answers() -> dict[tuple[int, int], tuple[str, float]]:
    return st.session_state.setdefault(ANSWERS_KEY, {})


def answer(lesson: int, step: int, question: Question, choice: str) -> None:
    """Score the learner's answer, keep it, and tell the class."""
    points = score(question, choice)
    answers()[(lesson, step)] = (choice, points)
    code = st.session_state.get(CLASS_KEY)
    if code:
        from seq2seq.app.classes import record_answer

        _tell_class(record_answer, code, session_id(), lesson, step, choice, question.truth, points == 1.0)
        st.session_state[RECORDED_KEY] = (lesson, step)


def check(lesson: int, step: int, question: Question, key: str) -> None:
    """The learner pressed "Check my answer": the pick under ``key`` is their answer."""
    if st.session_state.get(key) in question.options:
        answer(lesson, step, question, st.session_state[key])


def retry(lesson: int, step: int) -> None:
    """Forget the step's answer; its choices come back as a new widget, none picked (the browser would otherwise
    keep the old pick on screen, and picking it again would not register)."""
    answers().pop((lesson, step), None)
    st.session_state.pop(choice_key(lesson, step), None)
    tries = st.session_state.setdefault(TRIES_KEY, {})
    tries[(lesson, step)] = tries.get((lesson, step), 0) + 1


def choice_key(lesson: int, step: int) -> str:
    """The key of the step's choices, new for every try."""
    return f"learn_choice_{lesson}_{step}_{st.session_state.get(TRIES_KEY, {}).get((lesson, step), 0)}"


def progress():
    """The learner's progress as a figure: per lesson, its steps, those answered and the points scored."""
    from seq2seq.plots import progress_figure

    given = answers()
    numbers = range(1, len(LESSONS) + 1)
    return progress_figure(
        [f"{n}. {LESSONS[n - 1].title}" for n in numbers],
        [sum(p for (lesson, _), (_, p) in given.items() if lesson == n) for n in numbers],
        [sum(1 for lesson, _ in given if lesson == n) for n in numbers],
        [len(lesson.steps) for lesson in LESSONS],
    )


def score_text() -> str:
    """The score so far: points over the steps answered, and how many steps there are."""
    given = answers()
    total = sum(len(lesson.steps) for lesson in LESSONS)
    if not given:
        return f"No answers yet: {total} steps in {len(LESSONS)} lessons."
    points = sum(points for _, points in given.values())
    return f"Score: {points:g} of {len(given)} (steps answered; {total} in all)."


# ------------------------------------------------------------------------------------------------- link and class
def open_link() -> list[str]:
    """On the first view of the page with a link: go to its lesson and step, join its class; returns the notes on
    what was ignored."""
    link = links.take_link()
    if link is None:
        return []
    notes = list(link.notes)
    lesson, step = link.lesson, link.step
    if lesson is not None and lesson > len(LESSONS):
        notes.append(f"The link's lesson {lesson} was ignored: there are {len(LESSONS)} lessons.")
        lesson = None
    steps = len(LESSONS[(lesson or 1) - 1].steps)
    if step is not None and step > steps:
        notes.append(f"The link's step {step} was ignored: lesson {lesson or 1} has {steps} steps.")
        step = None
    if lesson is not None or step is not None:
        go_to(lesson or 1, step or 1)
    if link.class_code:
        join_class(link.class_code)
    return notes


def join_class(code: str) -> None:
    from seq2seq.app.classes import check_class

    st.session_state.pop(CLASS_KEY, None)
    if _tell_class(check_class, code):
        st.session_state[CLASS_KEY] = code


def session_id() -> str:
    return st.session_state.setdefault(SESSION_ID_KEY, secrets.token_urlsafe(16))


def class_code() -> str | None:
    return st.session_state.get(CLASS_KEY)


def record_place(lesson: int, step: int) -> None:
    """Tell the class where this learner is, when that changed."""
    code = class_code()
    if code and st.session_state.get(RECORDED_KEY) != (lesson, step):
        from seq2seq.app.classes import record_position

        _tell_class(record_position, code, session_id(), lesson, step)
        st.session_state[RECORDED_KEY] = (lesson, step)


def _tell_class(call, code: str, *args) -> bool:
    """``call(code, *args)``; on ClassUnavailable the class is dropped with its one-line note (shown once)."""
    from seq2seq.app.classes import ClassUnavailable

    try:
        call(code, *args)
    except ClassUnavailable as problem:
        st.session_state.pop(CLASS_KEY, None)
        st.session_state[CLASS_NOTE_KEY] = f"The class cannot be used: {problem} The lessons go on without it."
        return False
    return True


def take_class_note() -> str | None:
    return st.session_state.pop(CLASS_NOTE_KEY, None)
