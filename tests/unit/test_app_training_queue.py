"""The training queue in the shared database: first in first out, one run per session, cancel, bounds, restart
survival, a dead claimer's run interrupted, one claim per row across processes, and the start estimates."""

import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seq2seq.app.database import DatabaseUnavailable
from seq2seq.app.training_queue import (
    Entry,
    QueueRefused,
    TrainingQueue,
    claimer_is_gone,
    remaining_time,
    start_estimates,
)
from seq2seq.config import Config
from tests.conftest import tiny_config
from tests.processes import dead_pid

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue(tmp_path) -> TrainingQueue:
    return TrainingQueue(tmp_path / "app.sqlite3")


def test_runs_are_claimed_first_in_first_out_and_the_board_shows_running_then_waiting(queue):
    ids = [queue.enqueue(owner, tiny_config(seed=n), "built-in generator").id for n, owner in enumerate("abc")]
    assert [entry.status for entry in queue.board()] == ["queued"] * 3
    first, _ = queue.claim("server")
    assert first.id == ids[0] and first.status == "running" and first.config.seed == 0 and first.claimed_by == "server"
    assert [(entry.id, entry.status) for entry in queue.board()] == [
        (ids[0], "running"),
        (ids[1], "queued"),
        (ids[2], "queued"),
    ]
    assert [queue.claim("server")[0].id, queue.claim("server")[0].id] == ids[1:]
    assert queue.claim("server") is None


def test_one_queued_or_running_run_per_session(queue):
    queue.enqueue("other", tiny_config(), "built-in generator")
    queue.enqueue("me", tiny_config(), "built-in generator")
    with pytest.raises(QueueRefused, match=r"already in the queue \(number 2\)"):
        queue.enqueue("me", tiny_config(), "built-in generator")
    queue.claim("server")
    entry, _ = queue.claim("server")
    queue.started(entry.id, Path("/runs/20260101-120000"))
    with pytest.raises(QueueRefused, match=r"already in progress \(run 20260101-120000, running\)"):
        queue.enqueue("me", tiny_config(), "built-in generator")
    queue.end(entry.id, "finished")
    assert queue.enqueue("me", tiny_config(), "built-in generator").status == "queued"  # ended: a new one may start


def test_a_queued_run_can_be_cancelled_by_its_owner_only_and_is_never_claimed(queue):
    queue.enqueue("me", tiny_config(), "built-in generator")
    queue.enqueue("other", tiny_config(), "built-in generator")
    assert not queue.cancel("nobody")
    assert queue.cancel("me") and queue.latest("me").status == "cancelled"
    assert queue.claim("server")[0].owner == "other"
    assert not queue.cancel("other")  # a run training is stopped, not cancelled
    assert queue.request_stop(queue.latest("other").id) and not queue.request_stop(queue.latest("me").id)


def test_the_queue_is_bounded_and_old_ended_rows_are_pruned(tmp_path):
    queue = TrainingQueue(tmp_path / "app.sqlite3", max_waiting=2, keep_ended=3)
    queue.enqueue("a", tiny_config(), "built-in generator")
    queue.enqueue("b", tiny_config(), "built-in generator")
    with pytest.raises(QueueRefused, match=r"queue is full \(2 runs waiting"):
        queue.enqueue("c", tiny_config(), "built-in generator")
    for n in range(6):  # six more runs queued and cancelled in turn: only the last three ended rows stay
        queue.cancel("a")
        queue.enqueue("a", tiny_config(seed=n), "built-in generator")
    rows = sqlite3.connect(tmp_path / "app.sqlite3").execute("SELECT owner, status FROM training_queue").fetchall()
    assert sorted(rows) == [("a", "cancelled")] * 3 + [("a", "queued"), ("b", "queued")]


def test_a_new_process_sees_the_queued_runs_and_marks_a_dead_claimers_run_interrupted(queue):
    """A server restart: the queued runs wait on, and the run the old process trained is interrupted, to restart."""
    for owner in ("a", "b", "me"):
        queue.enqueue(owner, tiny_config(), "my corpus.txt" if owner == "me" else "built-in generator", b"x y\n")
    queue.claim(f"{socket.gethostname()}:{dead_pid()}:gone")  # a's run, claimed by a process that has ended
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from seq2seq.app.training_queue import TrainingQueue
        queue = TrainingQueue({str(queue.path)!r})
        print(queue.reap())
        print([(entry.owner, entry.status) for entry in queue.board()])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    reaped, board = done.stdout.splitlines()
    assert reaped == "[1]" and board == "[('b', 'queued'), ('me', 'queued')]"
    assert queue.latest("a").status == "interrupted" and "stopped before the run ended" in queue.latest("a").message
    restarted = queue.restart("a")
    assert restarted.status == "queued" and restarted.id > 3 and restarted.corpus == "built-in generator"
    with pytest.raises(QueueRefused, match="no interrupted run"):
        queue.restart("b")


def test_a_run_whose_heartbeat_stopped_is_interrupted_and_a_beating_one_is_not(queue):
    queue.enqueue("far", tiny_config(), "built-in generator")
    queue.enqueue("near", tiny_config(), "built-in generator")
    far, _ = queue.claim("another-host:1:x")  # another machine: only its heartbeat tells
    near, _ = queue.claim("this-server")
    queue.request_stop(near.id)
    time.sleep(0.2)
    assert queue.heartbeat("this-server", {near.id: 0.5}) == {near.id}  # alive, and its owner asked it to stop
    assert queue.reap(stale_s=0.1) == [far.id]
    assert queue.latest("near").status == "running" and queue.latest("near").progress == 0.5
    assert not claimer_is_gone("another-host:1:x") and claimer_is_gone(f"{socket.gethostname()}:{dead_pid()}:t")


def test_an_uploaded_corpus_is_kept_until_the_run_finished_and_restarts_with_it(queue):
    queue.enqueue("me", tiny_config(train_file="mine.txt"), "mine.txt", b"the cat sat\n")
    entry, text = queue.claim("server")
    assert text == b"the cat sat\n"
    queue.end(entry.id, "failed", "it broke")
    queue.restart("me")
    assert queue.claim("server")[1] == b"the cat sat\n"


def test_two_processes_claiming_at_once_never_take_the_same_run(queue):
    for n in range(40):
        queue.enqueue(f"owner{n}", tiny_config(), "built-in generator")
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from seq2seq.app.training_queue import TrainingQueue
        queue, taken = TrainingQueue({str(queue.path)!r}), []
        while (claimed := queue.claim(sys.argv[1])) is not None:
            taken.append(claimed[0].id)
        print(taken)
        """
    )
    servers = [
        subprocess.Popen([sys.executable, "-c", script, name], stdout=subprocess.PIPE, text=True)
        for name in ("one", "two")
    ]
    taken = [eval(server.communicate(timeout=120)[0]) for server in servers]
    assert sorted(taken[0] + taken[1]) == list(range(1, 41))  # every run claimed once, by one of them
    assert {entry.claimed_by for entry in queue.board()} <= {"one", "two"}


def test_a_broken_database_is_one_line(tmp_path):
    path = tmp_path / "app.sqlite3"
    path.write_bytes(b"not a database " * 100)
    with pytest.raises(DatabaseUnavailable) as caught:
        TrainingQueue(path).enqueue("me", tiny_config(), "built-in generator")
    assert "\n" not in str(caught.value) and "app.sqlite3" in str(caught.value)


def entry(id: int, status: str, started_at: float | None = None, progress: float = 0.0) -> Entry:
    return Entry(id, "o", Config(), "c", status, 0.0, started_at, None, None, progress, False, None, None)


def test_a_running_run_is_expected_to_end_as_its_progress_says_or_else_as_a_typical_run():
    assert remaining_time(entry(1, "running", started_at=100.0, progress=0.25), None, now=130.0) == 90.0
    assert remaining_time(entry(1, "running", started_at=100.0), 50.0, now=130.0) == 20.0
    assert remaining_time(entry(1, "running", started_at=100.0), None, now=130.0) is None


def test_each_waiting_run_starts_when_a_slot_frees_and_the_runs_ahead_take_a_typical_time():
    board = [entry(1, "running", started_at=0.0, progress=0.5), *(entry(n, "queued") for n in (2, 3, 4))]
    assert start_estimates(board, slots=1, typical=None, now=10.0) == {2: 10.0, 3: 30.0, 4: 50.0}
    assert start_estimates(board, slots=2, typical=60.0, now=10.0) == {2: 0.0, 3: 10.0, 4: 60.0}
    unknown = [entry(1, "running", started_at=0.0), entry(2, "queued")]
    assert start_estimates(unknown, slots=1, typical=None, now=10.0) == {2: None}
    assert start_estimates([entry(2, "queued")], slots=1, typical=None, now=10.0) == {2: 0.0}
