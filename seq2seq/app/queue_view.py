"""The training queue's wording on the Train page: where a session's run stands, when it should start, and the
table of the runs training and waiting. Every estimate comes from ``training_queue.start_estimates``."""

import time
from collections.abc import Mapping, Sequence

from ..metrics import percent
from .training_queue import Entry


def starts_in_text(seconds: float | None) -> str:
    """When a queued run should start, in words."""
    if seconds is None:
        return "when a slot frees up (no estimate yet: no run has made progress to judge by)"
    if seconds < 60:
        return "in under a minute"
    return f"in about {round(seconds / 60)} min"


def place_in_queue(board: Sequence[Entry], entry: Entry) -> tuple[int, int]:
    """(the entry's number in the queue, counting from 1; how many wait)."""
    waiting = [other.id for other in board if other.status == "queued"]
    return (waiting.index(entry.id) + 1 if entry.id in waiting else 0), len(waiting)


def queued_text(board: Sequence[Entry], entry: Entry, estimates: Mapping[int, float | None]) -> str:
    """What a session whose run waits is told."""
    place, waiting = place_in_queue(board, entry)
    return (
        f"Your run is queued: number {place} of {waiting} waiting. It should start "
        f"{starts_in_text(estimates.get(entry.id))}."
    )


def queue_rows(
    board: Sequence[Entry], owner: str, estimates: Mapping[int, float | None], now: float | None = None
) -> list[dict[str, str]]:
    """One row per run training or waiting, in queue order: whose it is (only "yours" or not: other sessions stay
    anonymous), its corpus, and how far along it is or when it should start."""
    now = time.time() if now is None else now
    rows = []
    for entry in board:
        running = entry.status == "running"
        place, _ = place_in_queue(board, entry)
        rows.append(
            {
                "place": "training" if running else str(place),
                "run": entry.run_name,
                "whose": "yours" if entry.owner == owner else "another session's",
                "corpus": entry.corpus,
                "waiting": f"{now - entry.created_at:.0f} s" if not running else "",
                "progress or start": f"{percent(entry.progress)} done"
                if running
                else starts_in_text(estimates.get(entry.id)),
            }
        )
    return rows
