"""The Class page through AppTest: a teacher creates a class, opens it with the teacher's link and sees its counts;
a bad code, key or database file gets one message and nothing of the class."""

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from seq2seq.app.classes import LIFETIME_S, create_class, record_answer, record_position
from seq2seq.app.database import database_path
from tests.app.conftest import open_app, texts

CLASS_PAGE = "pages/class_view.py"


def open_class_page(params: dict | None = None) -> AppTest:
    return open_app(CLASS_PAGE, params)


def test_a_teacher_creates_a_class_and_gets_a_students_link_without_the_key(runs):
    at = open_class_page()
    assert not at.main.error and not at.code
    at.button(key="create_class").click().run()
    assert not at.exception and not at.main.error, at.exception
    params = dict(at.query_params)
    assert set(params) == {"class", "key"}  # the page's URL is now the teacher's link: a reload keeps the class
    students, teachers = texts(at.code)
    assert students == f"/Learn?class={params['class']}" and params["key"] not in students
    assert teachers == f"/Class?class={params['class']}&key={params['key']}"
    assert texts(at.info) == ["No one has opened the students' link yet."]


def test_the_teacher_sees_each_steps_answers_against_the_truth_and_who_is_on_it(runs):
    codes = create_class(database_path())
    for session, answer in [("a", "cat"), ("b", "cat"), ("c", "the")]:
        record_answer(codes.code, session, 1, 2, answer, "cat", answer == "cat")
    record_position(codes.code, "c", 2, 1)
    at = open_class_page({"class": codes.code, "key": codes.teacher_key, "step": "2"})
    assert not at.main.error
    (note,) = texts(at.info)
    assert note.replace("\\", "") == "This page does not use the link's step; it was ignored."
    assert any(caption.startswith("3 learners in class") for caption in texts(at.caption))
    table = at.dataframe[0].value
    assert table.to_dict("records") == [
        {"step": "Lesson 1 · step 2: Alignment", "on it now": 2, "answered": 3, "right": 2},  # from seq2seq.lessons
        {"step": "Lesson 2 · step 1: 4 words", "on it now": 1, "answered": 0, "right": 0},
    ]
    assert "2 learners on this step now · 2 of 3 answers right · the truth: cat" in texts(at.caption)
    (chart,) = at.get("plotly_chart")
    bar = json.loads(chart.proto.spec)["data"][0]
    assert bar["y"] == ["✓ cat", "the"] and bar["x"] == [2, 1] and bar["text"] == ["2 · ✓ truth", "1"]
    record_answer(codes.code, "d", 1, 2, "cat", "cat", True)  # another learner answers: the next redraw counts it
    at.run()
    assert at.dataframe[0].value["answered"].tolist() == [4, 0]


@pytest.mark.parametrize("case", ["unknown code", "forged key", "no key", "expired", "corrupted database"])
def test_a_bad_link_or_database_shows_one_message_and_nothing_of_the_class(runs, case):
    codes = create_class(database_path(), now=time.time() - (LIFETIME_S if case == "expired" else 0))
    record_answer(codes.code, "a", 1, 1, "cat", "cat", True, now=time.time() - (LIFETIME_S if case == "expired" else 0))
    params = {"class": codes.code, "key": codes.teacher_key}
    if case == "unknown code":
        params["class"] = "zzzzzzzzzz"
    elif case == "forged key":
        params["key"] = codes.teacher_key[:-1] + ("A" if codes.teacher_key[-1] != "A" else "B")
    elif case == "no key":
        del params["key"]
    elif case == "corrupted database":
        database_path().write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    at = open_class_page(params)
    (error,) = texts(at.main.error)
    expected = {
        "unknown code": "There is no class",
        "forged key": "teacher key does not open class",
        "no key": "opens a class with the teacher",
        "expired": "expired on",
        "corrupted database": "The class cannot be reached now",
    }[case]
    assert expected in error.replace("\\", "")
    assert not at.code and not at.dataframe and not at.get("plotly_chart") and not at.info
    assert codes.teacher_key not in error
