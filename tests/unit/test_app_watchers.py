"""How the Train page's watching sessions redraw (``seq2seq.app.watchers``): how many watch a run's live view, how
often each redraws it, and when a page is drawn whole again."""

import pytest

from seq2seq.app import watchers
from seq2seq.app.training_queue import Entry
from seq2seq.app.watchers import (
    FASTEST_REFRESH_S,
    LIVE_REDRAWS_PER_SECOND,
    SLOWEST_REFRESH_S,
    WATCH_WINDOW_S,
    Watchers,
    drawn_from,
    live_refresh_seconds,
    refresh_is_off,
    waits,
)
from seq2seq.config import Config


def entry(status: str) -> Entry:
    """This session's run in the queue."""
    return Entry(7, "me", Config(), "built-in generator", status, 100.0, None, None, None, 0.0, False, None, None)


def test_few_watchers_redraw_every_second_and_a_class_less_often_up_to_a_bound():
    assert [live_refresh_seconds(n) for n in (1, 2, 4)] == [FASTEST_REFRESH_S] * 3
    assert live_refresh_seconds(10) == pytest.approx(10 / LIVE_REDRAWS_PER_SECOND)  # about 4 redraws a second in all
    assert live_refresh_seconds(10) > FASTEST_REFRESH_S
    assert live_refresh_seconds(1000) == SLOWEST_REFRESH_S


def test_watchers_are_counted_once_each_and_forgotten_once_they_stop_drawing():
    seen = Watchers()
    assert seen.saw("a", 0.0) == 1
    assert seen.saw("b", 1.0) == 2
    assert seen.saw("a", 2.0) == 2  # the same session again
    assert seen.saw("c", WATCH_WINDOW_S + 1.5) == 2  # "b" last drew longer ago than the window: it left
    assert seen.saw("b", WATCH_WINDOW_S + 1.6) == 3  # back again


def test_watchers_are_bounded_the_one_seen_longest_ago_going_first(monkeypatch):
    monkeypatch.setattr(watchers, "MAX_WATCHERS", 3)
    seen = Watchers()
    for at, key in enumerate("abcd"):
        seen.saw(key, float(at))
    assert list(seen._seen) == ["b", "c", "d"]  # "a" was dropped for "d"
    assert seen.saw("b", 4.0) == 3 and list(seen._seen) == ["c", "d", "b"]  # seen again: the newest


def test_a_page_takes_a_new_rate_only_once_its_own_is_off_by_a_step():
    assert not refresh_is_off(1.0, 5) and not refresh_is_off(live_refresh_seconds(10), 9)  # one more or less
    assert refresh_is_off(1.0, 10) and refresh_is_off(live_refresh_seconds(10), 2)  # a class came, or left


def test_another_sessions_run_starting_or_ending_while_the_page_refreshes_does_not_draw_it_whole():
    """While this session's run waits, the run ahead of it ends and the next starts: the live view and the queue
    redraw themselves. Its own run starting or leaving the queue, a new Start, or nothing left to refresh draws the
    page whole; its queue row catching up with a run's end does not (a click on the page would be dropped)."""
    queued = drawn_from(True, entry("queued"))
    assert drawn_from(False, entry("queued")) == queued  # between another session's run and the next
    assert drawn_from(True, entry("running")) != queued  # its own run started
    assert drawn_from(True, entry("cancelled")) != queued  # it left the queue
    ended = drawn_from(False, entry("running"))  # its run ended, and no other trains
    assert ended != drawn_from(True, entry("running")) and drawn_from(False, entry("finished")) == ended
    watching = drawn_from(True, None)  # a page with no run of its own
    assert drawn_from(True, None) == watching and drawn_from(False, None) != watching  # the last run ended
    assert drawn_from(True, entry("queued")) != watching  # its Start
    assert waits(entry("queued")) and not waits(entry("running")) and not waits(None)
