"""How many sessions watch a run's live view, and how often each redraws it (``seq2seq.app.watchers``)."""

import pytest

from seq2seq.app import watchers
from seq2seq.app.watchers import (
    FASTEST_REFRESH_S,
    LIVE_REDRAWS_PER_SECOND,
    SLOWEST_REFRESH_S,
    WATCH_WINDOW_S,
    Watchers,
    live_refresh_seconds,
)


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
