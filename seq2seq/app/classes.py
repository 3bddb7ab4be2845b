"""A teacher's class: anonymous answers to the Learn page's questions, counted per step, in the shared database.

A teacher creates a class and gets two secrets: its code, which the students' link carries (``/Learn?class=CODE``),
and a teacher key, which only the teacher's link carries (``/Class?class=CODE&key=KEY``) and which opens the counts.
Each browser session that opens a student link is one learner, known only by a random token: one answer per session
and step (a second replaces the first), and the step it is on now. No names, no accounts.

Tables, in the shared SQLite file (``seq2seq.app.database``), so that every server process on the machine sees the
same class and a restart loses nothing:

- ``classes``: its code, the SHA-256 of its teacher key (the key itself is never stored), when it was created and
  when it expires (``LIFETIME_S`` later); expired classes are removed, rows and all, when the next class is created.
- ``class_answers``: one row per class, session, lesson and step: the answer, the truth the learner was shown, whether
  the Learn page judged it right, when.
- ``class_positions``: one row per class and session: the step that session is on; its rows are the class's learners,
  whom ``MAX_SESSIONS`` bounds (every answer sets the position too).

Every failure a page should show is a ``ClassUnavailable`` whose message is one line fit to show as it is: an unknown
or expired code, a forged key, a full class or server, a locked or corrupted database file (nothing is deleted then).
A caller's own mistake (a lesson number out of range, an empty session token) is a ``ValueError``.
"""

import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from ..tokenize import echo
from .database import DatabaseUnavailable, connect

LIFETIME_S = 7 * 24 * 3600  # a class expires a week after it was created
MAX_CLASSES = 1_000  # live classes on one server
MAX_SESSIONS = 300  # learners in one class
MAX_LABEL_CHARS = 60  # an answer or truth label is cut to this, with "…"
MAX_SESSION_CHARS = 64
MAX_KEY_CHARS = 100  # a longer key is forged: the keys handed out are 32 characters
MAX_NUMBER = 20  # the highest lesson or step number: with MAX_SESSIONS, at most 120,000 answers a class
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/i/l: a code can be read aloud and typed
CODE_LENGTH = 10  # 31**10, about 2**50 codes: at MAX_CLASSES live ones, a guess finds one about once in 10**12 tries
KEY_BYTES = 24  # the teacher key: 192 random bits, 32 URL-safe characters

SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    code TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS classes_expires ON classes (expires);
CREATE TABLE IF NOT EXISTS class_answers (
    code TEXT NOT NULL REFERENCES classes (code) ON DELETE CASCADE,
    session TEXT NOT NULL,
    lesson INTEGER NOT NULL,
    step INTEGER NOT NULL,
    answer TEXT NOT NULL,
    truth TEXT NOT NULL,
    correct INTEGER NOT NULL,
    time REAL NOT NULL,
    PRIMARY KEY (code, session, lesson, step)
);
CREATE TABLE IF NOT EXISTS class_positions (
    code TEXT NOT NULL REFERENCES classes (code) ON DELETE CASCADE,
    session TEXT NOT NULL,
    lesson INTEGER NOT NULL,
    step INTEGER NOT NULL,
    time REAL NOT NULL,
    PRIMARY KEY (code, session)
);
"""


class ClassUnavailable(RuntimeError):
    """The class cannot be used: unknown or expired code, forged teacher key, a full class, the database unavailable.
    The message is one line, fit to show as it is."""


@dataclass(frozen=True)
class ClassCodes:
    code: str  # in the students' link
    teacher_key: str  # in the teacher's link only


@dataclass(frozen=True)
class StepCounts:
    """How a class answered one step, and how many of its learners are on it now."""

    lesson: int
    step: int
    answers: dict[str, int]  # each answer given -> how many learners gave it, most given first
    truths: tuple[str, ...]  # the truth the learners were shown, most often first (each learner's model decides it)
    answered: int
    correct: int  # answers the Learn page judged right
    here: int  # learners on this step now


@dataclass(frozen=True)
class ClassView:
    code: str
    expires: float  # seconds since the epoch
    sessions: int  # learners who opened the students' link
    steps: tuple[StepCounts, ...]  # every step answered or visited, in lesson and step order


# ------------------------------------------------------------------------------------------------- checks
def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def _normal_code(code: str) -> str | None:
    """The code as stored (lower case, no spaces around it), or None for text that cannot be one."""
    code = str(code).strip().lower()
    return code if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code) else None


def _label(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def _checked_learner(session_id: str, lesson: int, step: int) -> None:
    if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_SESSION_CHARS:
        raise ValueError(f"a session token is a string of 1 to {MAX_SESSION_CHARS} characters")
    for name, number in (("lesson", lesson), ("step", step)):
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_NUMBER:
            raise ValueError(f"the {name} is a whole number from 1 to {MAX_NUMBER}, not {number!r}")


def _date(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


@contextmanager
def _database(path: str | Path | None, write: bool = True) -> Iterator[sqlite3.Connection]:
    """``database.connect`` with this module's tables, its failures told as ``ClassUnavailable``."""
    try:
        with connect(SCHEMA, path, write=write) as db:
            yield db
    except DatabaseUnavailable as error:
        raise ClassUnavailable(f"The class cannot be reached now: {error}") from error


def _usable(db: sqlite3.Connection, code: str, now: float) -> sqlite3.Row:
    """The class's row, or ClassUnavailable saying why there is none to use."""
    normal = _normal_code(code)
    row = db.execute("SELECT * FROM classes WHERE code = ?", (normal,)).fetchone() if normal else None
    if row is None:
        raise ClassUnavailable(
            f"There is no class {echo(code)} on this server (a class lasts {LIFETIME_S // 86400} days)."
        )
    if row["expires"] <= now:
        raise ClassUnavailable(f"Class {echo(normal)} expired on {_date(row['expires'])}.")
    return row


def _admit(db: sqlite3.Connection, code: str, session_id: str) -> None:
    """Refuse a new learner once the class holds ``MAX_SESSIONS``; one already in it always gets in."""
    known = db.execute("SELECT 1 FROM class_positions WHERE code = ? AND session = ?", (code, session_id)).fetchone()
    if known is None:
        (count,) = db.execute("SELECT COUNT(*) FROM class_positions WHERE code = ?", (code,)).fetchone()
        if count >= MAX_SESSIONS:
            raise ClassUnavailable(f"Class {echo(code)} is full: it holds {MAX_SESSIONS} learners, the most it may.")


def _set_position(db: sqlite3.Connection, code: str, session_id: str, lesson: int, step: int, now: float) -> None:
    db.execute(
        "INSERT INTO class_positions (code, session, lesson, step, time) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (code, session) DO UPDATE SET lesson = excluded.lesson, step = excluded.step,"
        " time = excluded.time",
        (code, session_id, lesson, step, now),
    )


# ------------------------------------------------------------------------------------------------- the interface
def create_class(path: str | Path | None = None, now: float | None = None) -> ClassCodes:
    """A new class with random, unguessable codes, expiring ``LIFETIME_S`` from ``now``; expired classes and their
    rows are removed first. Refused (ClassUnavailable) when the server already holds ``MAX_CLASSES``."""
    now = time.time() if now is None else now
    teacher_key = secrets.token_urlsafe(KEY_BYTES)
    with _database(path) as db:
        db.execute("DELETE FROM classes WHERE expires <= ?", (now,))  # their answers and positions go with them
        (count,) = db.execute("SELECT COUNT(*) FROM classes").fetchone()
        if count >= MAX_CLASSES:
            raise ClassUnavailable(
                f"This server holds {MAX_CLASSES:,} classes, the most it keeps; a new one can be made when one expires."
            )
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if db.execute("SELECT 1 FROM classes WHERE code = ?", (code,)).fetchone() is None:
                break
        db.execute(
            "INSERT INTO classes (code, key_hash, created, expires) VALUES (?, ?, ?, ?)",
            (code, _key_hash(teacher_key), now, now + LIFETIME_S),
        )
    return ClassCodes(code, teacher_key)


def check_class(code: str, path: str | Path | None = None, now: float | None = None) -> None:
    """Raise ClassUnavailable when ``code`` names no class that can be used now."""
    with _database(path, write=False) as db:
        _usable(db, code, time.time() if now is None else now)


def record_position(
    code: str, session_id: str, lesson: int, step: int, path: str | Path | None = None, now: float | None = None
) -> None:
    """Where a learner is now: ``session_id`` is on ``lesson``'s ``step`` (both from 1)."""
    _checked_learner(session_id, lesson, step)
    now = time.time() if now is None else now
    with _database(path) as db:
        code = _usable(db, code, now)["code"]
        _admit(db, code, session_id)
        _set_position(db, code, session_id, lesson, step, now)


def record_answer(
    code: str,
    session_id: str,
    lesson: int,
    step: int,
    answer: str,
    truth: str,
    correct: bool,
    path: str | Path | None = None,
    now: float | None = None,
) -> None:
    """A learner's answer to a step, replacing any earlier one of theirs to that step; the learner is on that step
    now. ``answer`` and ``truth`` are short labels, cut to ``MAX_LABEL_CHARS``."""
    _checked_learner(session_id, lesson, step)
    now = time.time() if now is None else now
    with _database(path) as db:
        code = _usable(db, code, now)["code"]
        _admit(db, code, session_id)
        db.execute(
            "INSERT INTO class_answers (code, session, lesson, step, answer, truth, correct, time)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code, session, lesson, step) DO UPDATE SET"
            " answer = excluded.answer, truth = excluded.truth, correct = excluded.correct, time = excluded.time",
            (code, session_id, lesson, step, _label(answer), _label(truth), int(bool(correct)), now),
        )
        _set_position(db, code, session_id, lesson, step, now)


def class_view(code: str, teacher_key: str, path: str | Path | None = None, now: float | None = None) -> ClassView:
    """What the teacher sees: per step, the counts of each answer, the truth, how many answered and how many are on
    it. ClassUnavailable for a key that is not this class's."""
    now = time.time() if now is None else now
    with _database(path, write=False) as db:
        row = _usable(db, code, now)
        key = str(teacher_key)
        given = _key_hash(key) if len(key) <= MAX_KEY_CHARS else ""
        if not hmac.compare_digest(given, row["key_hash"]):
            raise ClassUnavailable(f"That teacher key does not open class {echo(row['code'])}.")
        code = row["code"]
        answers: dict[tuple[int, int], dict[str, int]] = {}
        truths: dict[tuple[int, int], dict[str, int]] = {}
        correct: dict[tuple[int, int], int] = {}
        for lesson, step, answer, count, right in db.execute(
            "SELECT lesson, step, answer, COUNT(*), SUM(correct) FROM class_answers WHERE code = ?"
            " GROUP BY lesson, step, answer ORDER BY lesson, step, COUNT(*) DESC, answer",
            (code,),
        ):
            answers.setdefault((lesson, step), {})[answer] = count
            correct[lesson, step] = correct.get((lesson, step), 0) + right
        for lesson, step, truth, count in db.execute(
            "SELECT lesson, step, truth, COUNT(*) FROM class_answers WHERE code = ?"
            " GROUP BY lesson, step, truth ORDER BY COUNT(*) DESC, truth",
            (code,),
        ):
            truths.setdefault((lesson, step), {})[truth] = count
        here = dict(
            ((lesson, step), count)
            for lesson, step, count in db.execute(
                "SELECT lesson, step, COUNT(*) FROM class_positions WHERE code = ? GROUP BY lesson, step", (code,)
            )
        )
        (sessions,) = db.execute("SELECT COUNT(*) FROM class_positions WHERE code = ?", (code,)).fetchone()
    steps = tuple(
        StepCounts(
            lesson=lesson,
            step=step,
            answers=answers.get((lesson, step), {}),
            truths=tuple(truths.get((lesson, step), {})),
            answered=sum(answers.get((lesson, step), {}).values()),
            correct=correct.get((lesson, step), 0),
            here=here.get((lesson, step), 0),
        )
        for lesson, step in sorted(answers.keys() | here.keys())
    )
    return ClassView(code=code, expires=row["expires"], sessions=sessions, steps=steps)


# ------------------------------------------------------------------------------------------------- for the page
def class_links(codes: ClassCodes, base: str = "") -> tuple[str, str]:
    """(the students' link, the teacher's link) under ``base`` (the app's address, without a page). Only the
    teacher's carries the key."""
    base = base.rstrip("/")
    return (
        f"{base}/Learn?{urlencode({'class': codes.code})}",
        f"{base}/Class?{urlencode({'class': codes.code, 'key': codes.teacher_key})}",
    )


def step_title(lesson: int, step: int) -> str:
    """ "Lesson 2 · step 3", followed by the step's title from the lesson catalogue (``seq2seq.lessons``) when it
    has that step (a class's answers may outlive a step the catalogue has since dropped)."""
    from ..lessons import LESSONS  # here, not at the top: the Class page's first paint does not need the models

    name = f"Lesson {lesson} · step {step}"
    if not (1 <= lesson <= len(LESSONS) and 1 <= step <= len(LESSONS[lesson - 1].steps)):
        return name
    return f"{name}: {LESSONS[lesson - 1].steps[step - 1].title}"


def expiry_text(view: ClassView) -> str:
    """ "expires 2026-12-13 06:30 UTC": when the class and its answers go."""
    return f"expires {_date(view.expires)}"
