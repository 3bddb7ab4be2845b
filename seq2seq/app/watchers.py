"""How many sessions watch the live view of a run, and how often each of them redraws it.

Every watching session redraws the live view on the server's one interpreter, and every other session's answer waits
while it does: one session redraws it every second, but a class of them would redraw it tens of times a second. So
while more than ``LIVE_REDRAWS_PER_SECOND`` sessions watch, each redraws less often, so that the server draws about
that many in a second in all (each at least every ``SLOWEST_REFRESH_S``).
"""

import threading

LIVE_REDRAWS_PER_SECOND = 4.0  # the live views a server redraws in a second, all watching sessions together
FASTEST_REFRESH_S = 1.0  # how often a live view redraws while few sessions watch
SLOWEST_REFRESH_S = 5.0  # and at the slowest, however many watch
WATCH_WINDOW_S = 3 * SLOWEST_REFRESH_S  # a session that drew the live view this recently still watches
MAX_WATCHERS = 1000  # sessions remembered at most: the one seen longest ago goes first


def live_refresh_seconds(watching: int) -> float:
    """How often each of ``watching`` sessions redraws the live view."""
    return min(SLOWEST_REFRESH_S, max(FASTEST_REFRESH_S, watching / LIVE_REDRAWS_PER_SECOND))


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
