"""The queue's wording: a waiting run's place and start in words, and the table where other sessions stay anonymous."""

from seq2seq.app.queue_view import place_in_queue, queue_rows, queued_text, starts_in_text
from seq2seq.app.training_queue import Entry
from seq2seq.config import Config


def entry(id: int, owner: str, status: str, progress: float = 0.0) -> Entry:
    return Entry(
        id, owner, Config(), "built-in generator", status, 100.0, None, None, None, progress, False, None, None
    )


BOARD = [entry(1, "them", "running", 0.25), entry(2, "them", "queued"), entry(3, "me", "queued")]


def test_a_start_is_said_in_minutes_or_as_unknown():
    assert starts_in_text(None).startswith("when a slot frees up (no estimate yet")
    assert starts_in_text(0.0) == starts_in_text(59.0) == "in under a minute"
    assert starts_in_text(150.0) == "in about 2 min" and starts_in_text(600.0) == "in about 10 min"


def test_a_waiting_run_is_told_its_place_and_when_it_should_start():
    assert place_in_queue(BOARD, BOARD[2]) == (2, 2) and place_in_queue(BOARD, BOARD[0]) == (0, 2)
    assert queued_text(BOARD, BOARD[2], {3: 120.0}) == (
        "Your run is queued: number 2 of 2 waiting. It should start in about 2 min."
    )


def test_the_table_shows_places_progress_and_starts_and_only_says_which_run_is_yours():
    rows = queue_rows(BOARD, "me", {2: 30.0, 3: None}, now=160.0)
    assert [row["place"] for row in rows] == ["training", "1", "2"]
    assert [row["whose"] for row in rows] == ["another session's", "another session's", "yours"]
    assert rows[0]["progress or start"] == "25.0% done" and rows[1]["progress or start"] == "in under a minute"
    assert rows[2]["progress or start"].startswith("when a slot frees up")
    assert [row["waiting"] for row in rows] == ["", "60 s", "60 s"] and rows[2]["run"] == "#3"
    assert "them" not in str(rows)
