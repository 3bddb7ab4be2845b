"""How the Train page's watching sessions redraw: how many watch the live view of a run, how often each of them
redraws it, and when a page is drawn whole again.

Every watching session redraws the live view on the server's one interpreter, and every other session's answer waits
while it does: one session redraws it every second, but a class of them would redraw it tens of times a second. So
while more than ``LIVE_REDRAWS_PER_SECOND`` sessions watch, each redraws less often, so that the server draws about
that many in a second in all (each at least every ``SLOWEST_REFRESH_S``).

A page is drawn whole again (run list, sidebar, refresh rate) only when what it was drawn from changed
(``drawn_from``); the live view and the queue redraw themselves in between.
"""

import threading

from .training_queue import Entry

LIVE_REDRAWS_PER_SECOND = 4.0  # the live views a server redraws in a second, all watching sessions together
FASTEST_REFRESH_S = 1.0  # how often a live view redraws while few sessions watch
SLOWEST_REFRESH_S = 5.0  # and at the slowest, however many watch
REFRESH_STEP_S = 1.0  # a page's rate is set again once it is off by this much
WATCH_WINDOW_S = 3 * SLOWEST_REFRESH_S  # a session that drew the live view this recently still watches
MAX_WATCHERS = 1000  # sessions remembered at most: the one seen longest ago goes first


def live_refresh_seconds(watching: int) -> float:
    """How often each of ``watching`` sessions redraws the live view."""
    return min(SLOWEST_REFRESH_S, max(FASTEST_REFRESH_S, watching / LIVE_REDRAWS_PER_SECOND))


def refresh_is_off(refresh: float, watching: int) -> bool:
    """Whether a page whose live view redraws every ``refresh`` seconds should be drawn again (the rate is set as
    the page is drawn) for ``watching`` sessions: only when its rate is off by ``REFRESH_STEP_S`` or more, so that
    sessions coming and going one by one do not draw whole pages again."""
    return abs(live_refresh_seconds(watching) - refresh) >= REFRESH_STEP_S


class Watchers:
    """The sessions that drew the live view lately, by key, with when each last did (bounded); shared by every
    session of a server."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}  # key -> when it last drew the live view (time.monotonic())
        self._lock = threading.Lock()

    def saw(self, key: str, now: float) -> int:
        """Session ``key`` draws the live view at ``now``; how many sessions watch, it included."""
        with self._lock:
            self._seen.pop(key, None)
            self._seen[key] = now  # the dict keeps the order of the last sighting: the longest ago first
            for old in [k for k, at in self._seen.items() if at < now - WATCH_WINDOW_S]:
                del self._seen[old]
            while len(self._seen) > MAX_WATCHERS:
                del self._seen[next(iter(self._seen))]
            return len(self._seen)


def drawn_from(active: bool, entry: Entry | None) -> tuple:
    """What a Train page is drawn from besides its widgets: whether anything on it refreshes (a run trains, ``active``,
    or this session's run waits), whether this session's run waits, and which run is this session's newest (its queue
    ``entry``). Another session's run starting or ending while the page refreshes anyway changes none of them: the
    live view and the queue show it as they redraw themselves, and the run list and the sidebar catch up when the page
    is next drawn whole. (In a class, every watching page drawn whole at every run's start and end held the
    interpreter that every session's answers wait for.) A run's end is told by ``active``, never by its queue row,
    which the server updates a moment later: a page drawn again then would drop a click on what it had drawn."""
    return active or waits(entry), waits(entry), None if entry is None else entry.id


def waits(entry: Entry | None) -> bool:
    """Whether ``entry`` waits in the queue."""
    return entry is not None and entry.status == "queued"
