import functools
import sqlite3
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from seq2seq.app import classes
from seq2seq.app.classes import (
    LIFETIME_S,
    MAX_LABEL_CHARS,
    MAX_NUMBER,
    ClassUnavailable,
    check_class,
    class_links,
    class_view,
    create_class,
    record_answer,
    record_position,
    step_title,
)
from seq2seq.app.database import connect
from tests.processes import ROOT

NOW = 1_800_000_000.0


@pytest.fixture
def db(tmp_path):
    return tmp_path / "app.sqlite3"


def steps_of(view) -> dict:
    return {(s.lesson, s.step): s for s in view.steps}


def test_a_class_is_created_with_two_secrets_and_only_a_hash_of_the_key_is_stored(db):
    codes = create_class(db, now=NOW)
    other = create_class(db, now=NOW)
    assert codes.code != other.code and codes.teacher_key != other.teacher_key
    assert len(codes.code) == 10 and len(codes.teacher_key) == 32
    check_class(codes.code, db, now=NOW)
    check_class(f"  {codes.code.upper()} ", db, now=NOW)  # read back as typed from a board
    stored = sqlite3.connect(db).execute("SELECT * FROM classes").fetchall()
    assert codes.teacher_key not in repr(stored)
    assert codes.teacher_key.encode() not in db.read_bytes() + db.with_name(db.name + "-wal").read_bytes()
    student, teacher = class_links(codes, "http://host:8501/")
    assert student == f"http://host:8501/Learn?class={codes.code}"
    assert codes.teacher_key not in student and "key" not in student
    assert teacher == f"http://host:8501/Class?class={codes.code}&key={codes.teacher_key}"
    assert class_view(codes.code, codes.teacher_key, db, now=NOW).steps == ()


def test_a_second_answer_replaces_the_first_and_each_step_is_counted(db):
    codes = create_class(db, now=NOW)
    record_answer(codes.code, "a", 1, 1, "cat", "cat", True, db, now=NOW)
    record_answer(codes.code, "b", 1, 1, "the", "cat", False, db, now=NOW)
    record_answer(codes.code, "c", 1, 1, "the", "cat", False, db, now=NOW)
    record_answer(codes.code, "c", 1, 1, "cat", "cat", True, db, now=NOW + 1)  # c changes its mind
    record_answer(codes.code, "a", 2, 3, "8 words", "8 words", True, db, now=NOW + 2)  # a moves on
    record_position(codes.code, "d", 1, 2, db, now=NOW + 3)  # d looks, answers nothing
    view = class_view(codes.code, codes.teacher_key, db, now=NOW + 4)
    assert view.sessions == 4 and view.code == codes.code
    steps = steps_of(view)
    assert list(steps) == [(1, 1), (1, 2), (2, 3)]
    first = steps[1, 1]
    assert first.answers == {"cat": 2, "the": 1} and list(first.answers) == ["cat", "the"]  # most given first
    assert (first.truths, first.answered, first.correct, first.here) == (("cat",), 3, 2, 2)  # b and c are here
    assert (steps[1, 2].answered, steps[1, 2].here, steps[1, 2].answers) == (0, 1, {})
    assert (steps[2, 3].answered, steps[2, 3].correct, steps[2, 3].here) == (1, 1, 1)


def test_learners_shown_different_truths_are_counted_against_each(db):
    codes = create_class(db, now=NOW)
    for session, truth in [("a", "yes"), ("b", "yes"), ("c", "no")]:
        record_answer(codes.code, session, 3, 1, "yes", truth, truth == "yes", db, now=NOW)
    (step,) = class_view(codes.code, codes.teacher_key, db, now=NOW).steps
    assert step.truths == ("yes", "no") and step.answers == {"yes": 3} and step.correct == 2


def test_an_unknown_expired_or_malformed_code_and_a_forged_key_are_one_line_each(db):
    codes = create_class(db, now=NOW)
    record_answer(codes.code, "a", 1, 1, "cat", "cat", True, db, now=NOW)
    messages = []
    for call in [
        lambda: check_class("zzzzzzzzzz", db, now=NOW),
        lambda: check_class("<script>alert(1)</script>" * 400, db, now=NOW),
        lambda: check_class(codes.code, db, now=NOW + LIFETIME_S),
        lambda: record_answer(codes.code, "b", 1, 1, "x", "y", False, db, now=NOW + LIFETIME_S + 1),
        lambda: record_position("nope", "b", 1, 1, db, now=NOW),
        lambda: class_view(codes.code, codes.teacher_key + "x", db, now=NOW),
        lambda: class_view(codes.code, create_class(db, now=NOW).teacher_key, db, now=NOW),  # another class's key
        lambda: class_view(codes.code, "k" * 10**6, db, now=NOW),
        lambda: class_view(codes.code, "", db, now=NOW),
    ]:
        with pytest.raises(ClassUnavailable) as caught:
            call()
        messages.append(str(caught.value))
    assert all("\n" not in m and len(m) < 160 for m in messages), messages
    assert "There is no class 'zzzzzzzzzz' on this server" in messages[0] and "…" in messages[1]
    assert "expired on" in messages[2] and "expired on" in messages[3]
    assert all("teacher key does not open class" in m for m in messages[5:])
    # nothing was lost: the expired answer was not written and the class's counts are intact
    assert steps_of(class_view(codes.code, codes.teacher_key, db, now=NOW))[1, 1].answers == {"cat": 1}


def test_expired_classes_and_their_rows_are_removed_when_a_class_is_created(db):
    old = create_class(db, now=NOW)
    record_answer(old.code, "a", 1, 1, "cat", "cat", True, db, now=NOW)
    kept = create_class(db, now=NOW + 1)
    create_class(db, now=NOW + LIFETIME_S)  # old has expired; kept expires one second later
    with connect(classes.SCHEMA, db, write=False) as conn:
        assert [row[0] for row in conn.execute("SELECT code FROM classes")].count(old.code) == 0
        assert conn.execute("SELECT COUNT(*) FROM class_answers").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM class_positions").fetchone()[0] == 0
    check_class(kept.code, db, now=NOW + LIFETIME_S)


def test_a_full_class_refuses_new_learners_and_keeps_the_ones_it_has(db, monkeypatch):
    monkeypatch.setattr(classes, "MAX_SESSIONS", 3)
    codes = create_class(db, now=NOW)
    for session in "abc":
        record_position(codes.code, session, 1, 1, db, now=NOW)
    with pytest.raises(ClassUnavailable, match="is full: it holds 3 learners"):
        record_answer(codes.code, "d", 1, 1, "cat", "cat", True, db, now=NOW)
    with pytest.raises(ClassUnavailable, match="is full"):
        record_position(codes.code, "d", 1, 1, db, now=NOW)
    record_answer(codes.code, "a", 1, 1, "cat", "cat", True, db, now=NOW)  # one already in it still answers
    assert class_view(codes.code, codes.teacher_key, db, now=NOW).sessions == 3


def test_a_full_server_refuses_a_new_class_until_one_expires(db, monkeypatch):
    monkeypatch.setattr(classes, "MAX_CLASSES", 2)
    create_class(db, now=NOW)
    create_class(db, now=NOW + 10)
    with pytest.raises(ClassUnavailable, match="holds 2 classes, the most it keeps"):
        create_class(db, now=NOW + 20)
    create_class(db, now=NOW + LIFETIME_S)  # the first has expired


def test_labels_are_cut_and_a_callers_mistakes_are_value_errors(db):
    codes = create_class(db, now=NOW)
    record_answer(codes.code, "a", 1, 1, "w" * 10_000, "t\n" * 5, True, db, now=NOW)
    (step,) = class_view(codes.code, codes.teacher_key, db, now=NOW).steps
    (answer,) = step.answers
    assert len(answer) == MAX_LABEL_CHARS and answer.endswith("…") and step.truths == ("t t t t t",)
    bad = [("", 1, 1), ("s" * 65, 1, 1), ("a", 0, 1), ("a", 1, MAX_NUMBER + 1), ("a", True, 1)]
    for session, lesson, number in bad:
        with pytest.raises(ValueError):
            record_position(codes.code, session, lesson, number, db, now=NOW)


def test_a_corrupted_database_file_is_one_line_and_left_as_it_was(db):
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    before = db.read_bytes()
    for call in [
        lambda: create_class(db),
        lambda: check_class("abcdefghjk", db),
        lambda: record_answer("abcdefghjk", "a", 1, 1, "x", "y", True, db),
        lambda: record_position("abcdefghjk", "a", 1, 1, db),
        lambda: class_view("abcdefghjk", "key", db),
    ]:
        with pytest.raises(ClassUnavailable, match="^The class cannot be reached now: ") as caught:
            call()
        assert "\n" not in str(caught.value)
    assert db.read_bytes() == before


def test_a_locked_database_is_a_busy_message_and_loses_nothing(db, monkeypatch):
    monkeypatch.setattr(classes, "connect", functools.partial(connect, timeout=0.1))
    codes = create_class(db, now=NOW)
    record_answer(codes.code, "a", 1, 1, "cat", "cat", True, db, now=NOW)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ClassUnavailable, match="busy .locked by another process.; try again"):
            record_answer(codes.code, "b", 1, 1, "the", "cat", False, db, now=NOW)
        assert steps_of(class_view(codes.code, codes.teacher_key, db, now=NOW))[1, 1].answered == 1  # readers read
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    record_answer(codes.code, "b", 1, 1, "the", "cat", False, db, now=NOW)  # once free, the answer is taken
    assert steps_of(class_view(codes.code, codes.teacher_key, db, now=NOW))[1, 1].answered == 2


def answer_many(db, code: str, prefix: str, sessions: int) -> None:
    """Each of ``sessions`` learners answers two steps, the first twice (the second answer replaces it)."""
    for n in range(sessions):
        session = f"{prefix}{n}"
        record_answer(code, session, 1, 1, "wrong", "right", False, db)
        record_answer(code, session, 1, 1, "right", "right", True, db)
        record_answer(code, session, 1, 2, prefix, "right", False, db)


def assert_every_answer_counted(db, codes, prefixes: str, sessions: int) -> None:
    view = class_view(codes.code, codes.teacher_key, db)  # a new connection, as after a restart
    steps = steps_of(view)
    assert view.sessions == len(prefixes) * sessions
    assert steps[1, 1].answers == {"right": len(prefixes) * sessions} and steps[1, 1].correct == view.sessions
    assert steps[1, 2].answers == dict.fromkeys(prefixes, sessions) and steps[1, 2].here == view.sessions


def test_hundreds_of_answers_from_two_threads_at_once_are_all_counted(db):
    codes = create_class(db)
    errors = []

    def tab(prefix: str) -> None:
        try:
            answer_many(db, codes.code, prefix, 150)
        except Exception as error:  # noqa: BLE001 - the test reports any
            errors.append(error)

    threads = [threading.Thread(target=tab, args=(prefix,)) for prefix in "xy"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_every_answer_counted(db, codes, "xy", 150)


def test_answers_from_two_processes_at_once_are_all_counted_and_outlive_them(db):
    codes = create_class(db)
    script = (
        "import sys; from tests.unit.test_app_classes import answer_many; "
        "answer_many(sys.argv[1], sys.argv[2], sys.argv[3], 100)"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(db), codes.code, prefix], cwd=ROOT, stderr=subprocess.PIPE)
        for prefix in "pq"
    ]
    for process in processes:
        _, error = process.communicate(timeout=120)
        assert process.returncode == 0, error.decode()
    assert_every_answer_counted(db, codes, "pq", 100)


def test_a_step_is_named_by_its_numbers_and_its_title_when_the_catalogue_has_it(monkeypatch):
    step = SimpleNamespace(title="Where does the decoder look?")
    catalogue = SimpleNamespace(LESSONS=[SimpleNamespace(title="Attention", steps=[SimpleNamespace(title="x"), step])])
    monkeypatch.setitem(sys.modules, "seq2seq.lessons", catalogue)
    assert step_title(1, 2) == "Lesson 1 · step 2: Where does the decoder look?"
    assert step_title(1, 3) == "Lesson 1 · step 3" and step_title(2, 1) == "Lesson 2 · step 1"  # not in it
