"""The training pool: queued runs start on free slots in order, Stop reaches the run's server, two servers sharing the
database train each run once, a server's close marks its runs interrupted, the slots setting, a broken database."""

import logging
import sys

import pytest

from seq2seq.app.database import DatabaseUnavailable
from seq2seq.app.dispatch import RAY_ENV, SLOTS_ENV, TrainingPool, machine_cores, server_pool, train_slots
from seq2seq.app.process_worker import ProcessWorker
from seq2seq.app.runs import RUNS_ENV
from seq2seq.app.training_queue import TrainingQueue
from seq2seq.app.worker import TrainingWorker
from seq2seq.data import load_run_data
from tests.conftest import quick_config


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    return tmp_path / "runs"


def pool_on(path, tiny_corpus, slots: int = 1) -> TrainingPool:
    return TrainingPool(
        TrainingQueue(path),
        slots=slots,
        corpus_for=lambda config: load_run_data(config, tiny_corpus),
        make_worker=lambda: TrainingWorker(report_every=1),
        poll_s=None,
    )


def wait_idle(pool: TrainingPool) -> None:
    for worker in pool.workers:
        assert worker.wait(120)
    pool.dispatch()


def wait_until_every_run_ended(pools: list[TrainingPool], owners: str, rounds: int = 5) -> None:
    """Rounds of every pool (wait for its workers, then dispatch) until none of ``owners``' runs waits or trains."""
    for _ in range(rounds):
        for pool in pools:
            wait_idle(pool)
        if all(pools[0].queue.latest(owner).status not in ("queued", "running") for owner in owners):
            return


def test_a_start_trains_at_once_on_a_free_slot_and_the_next_waits_then_starts_in_order(runs, tiny_corpus):
    pool = pool_on(runs / "app.sqlite3", tiny_corpus)
    first = pool.submit("a", quick_config(500), "tiny.txt")
    assert first.status == "running" and first.run_dir.parent == runs and pool.state().run_dir == first.run_dir
    second = pool.submit("b", quick_config(1), "tiny.txt")
    third = pool.submit("c", quick_config(1), "tiny.txt")
    assert (second.status, third.status) == ("queued", "queued") and pool.state().run_dir == first.run_dir
    assert pool.stop("b")  # b has no run going on: it stops the run on show, a's
    pool.workers[0].wait(120)
    pool.dispatch()  # a's end recorded, b's run claimed
    assert pool.queue.latest("a").status == "finished" and pool.queue.latest("b").status == "running"
    assert pool.view(pool.queue.latest("b")).run_dir == pool.queue.latest("b").run_dir
    wait_until_every_run_ended([pool], "abc")
    assert [pool.queue.latest(owner).status for owner in "abc"] == ["finished"] * 3
    starts = [pool.queue.latest(owner).started_at for owner in "abc"]
    assert starts == sorted(starts) and len({pool.queue.latest(owner).run_dir for owner in "abc"}) == 3


def test_two_servers_sharing_the_database_train_each_run_once(runs, tiny_corpus):
    one, two = pool_on(runs / "app.sqlite3", tiny_corpus), pool_on(runs / "app.sqlite3", tiny_corpus)
    for owner, epochs in zip("abc", (500, 500, 1), strict=True):
        one.queue.enqueue(owner, quick_config(epochs), "tiny.txt")
    two.dispatch()
    one.dispatch()
    board = one.queue.board()
    assert [entry.status for entry in board] == ["running", "running", "queued"]
    assert one.live_run_dirs() == [board[1].run_dir] and two.live_run_dirs() == [board[0].run_dir]
    for pool in (one, two):
        pool.workers[0].stop()
    assert {entry.claimed_by for entry in board if entry.status == "running"} == {one.claimer, two.claimer}
    wait_until_every_run_ended([one, two], "abc")  # the last run goes to whichever server frees first
    ended = [one.queue.latest(owner) for owner in "abc"]
    assert [entry.status for entry in ended] == ["finished"] * 3 and len({entry.run_dir for entry in ended}) == 3


def test_a_stop_pressed_on_another_server_reaches_the_run_at_its_next_round(runs, tiny_corpus):
    training, other = pool_on(runs / "app.sqlite3", tiny_corpus), pool_on(runs / "app.sqlite3", tiny_corpus)
    training.submit("me", quick_config(500), "tiny.txt")
    assert other.stop("me")  # the owner's page is served by the other server
    assert training.workers[0].busy
    training.dispatch()
    assert training.workers[0].wait(120) and training.workers[0].state().stop_reason == "stopped"
    training.dispatch()
    assert training.queue.latest("me").status == "finished"


def test_a_server_that_closes_marks_its_runs_interrupted_and_they_can_start_again(runs, tiny_corpus):
    pool = pool_on(runs / "app.sqlite3", tiny_corpus)
    pool.submit("me", quick_config(500), "tiny.txt")
    pool.close()
    assert pool.queue.latest("me").status == "interrupted"
    restarted = pool_on(runs / "app.sqlite3", tiny_corpus)  # the server started again
    restarted.queue.restart("me")
    restarted.dispatch()
    assert restarted.queue.latest("me").status == "running"
    restarted.close()


def test_a_run_that_cannot_start_fails_with_a_message_and_the_queue_goes_on(runs, tiny_corpus, monkeypatch):
    import seq2seq.app.worker as worker_module

    pool = pool_on(runs / "app.sqlite3", tiny_corpus)
    with monkeypatch.context() as patch:
        patch.setattr(worker_module, "write_run_info", lambda *args: (_ for _ in ()).throw(PermissionError(13, "no")))
        failed = pool.submit("me", quick_config(1), "tiny.txt")
    assert failed.status == "failed" and failed.message == "the run could not start: [Errno 13] no"
    assert pool.submit("next", quick_config(1), "tiny.txt").status == "running"
    wait_idle(pool)


def test_a_broken_database_stops_no_run_going_on(runs, tiny_corpus):
    pool = pool_on(runs / "app.sqlite3", tiny_corpus)
    pool.submit("me", quick_config(500), "tiny.txt")
    (runs / "app.sqlite3").write_bytes(b"not a database " * 1000)
    for suffix in ("-wal", "-shm"):
        (runs / f"app.sqlite3{suffix}").unlink(missing_ok=True)
    with pytest.raises(DatabaseUnavailable):
        pool.dispatch()
    assert pool.workers[0].busy  # the run trains on
    pool.workers[0].stop()
    assert pool.workers[0].wait(120)


def test_the_slots_setting_defaults_to_half_the_cores_and_a_bad_value_is_logged(monkeypatch, caplog):
    monkeypatch.delenv(SLOTS_ENV, raising=False)
    assert train_slots() == max(1, machine_cores() // 2) and train_slots(default=3) == 3
    monkeypatch.setenv(SLOTS_ENV, "4")
    assert train_slots() == 4
    for bad in ("0", "-1", "two", "65"):
        monkeypatch.setenv(SLOTS_ENV, bad)
        with caplog.at_level(logging.WARNING):
            assert train_slots(default=1) == 1
        assert f"not {bad!r}" in caplog.text


@pytest.mark.parametrize("ray_address", [None, "127.0.0.1:6379"], ids=["no setting", "Ray not installed"])
def test_without_ray_the_server_trains_on_this_machine_whatever_the_setting(monkeypatch, caplog, ray_address):
    monkeypatch.setitem(sys.modules, "ray", None)  # importing it raises ImportError, as where it is not installed
    monkeypatch.delenv(SLOTS_ENV, raising=False)
    if ray_address is None:
        monkeypatch.delenv(RAY_ENV, raising=False)
    else:
        monkeypatch.setenv(RAY_ENV, ray_address)
    with caplog.at_level(logging.WARNING):
        pool = server_pool(lambda config: None)
    pool.close()
    assert [type(worker) for worker in pool.workers] == [ProcessWorker] * train_slots()
    assert ("Ray is not installed" in caplog.text) == (ray_address is not None)


def test_a_server_pool_keeps_the_queue_of_the_runs_folder_it_was_made_in(runs, tiny_corpus, monkeypatch, tmp_path):
    """A server's rounds never follow a later change of the runs folder into another folder's queue (in the tests,
    a pool left by one test took the runs another test had queued)."""
    monkeypatch.delenv(RAY_ENV, raising=False)
    pool = server_pool(lambda config: load_run_data(config, tiny_corpus))
    try:
        monkeypatch.setenv(RUNS_ENV, str(tmp_path / "elsewhere"))
        other = TrainingQueue()
        other.enqueue("me", quick_config(1), "tiny.txt")
        pool.dispatch()
        assert other.latest("me").status == "queued" and not any(worker.busy for worker in pool.workers)
        assert pool.queue.path == runs / "app.sqlite3"
    finally:
        pool.close()
