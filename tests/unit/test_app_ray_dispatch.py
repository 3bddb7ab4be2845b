"""Training the queue on a Ray cluster the test starts on this machine (``harness.ray_cluster``): a run trains on its
slot's Ray actor, its progress streams back and its checkpoint lands in the run folder; the slot's next run trains in
the same process; a Ray worker killed mid-run fails its run with a message and the queue goes on. Those are skipped
where Ray is not installed (``requirements-ray.txt``); what a worker does when its actor dies before or after the run
began, or the run raises, is tested on a stand-in for Ray."""

import json
import os
import re
import signal
import time

import pytest

from harness.ray_cluster import LocalRayCluster
from seq2seq.app.dispatch import RAY_ENV, SLOTS_ENV, TrainingPool, server_pool
from seq2seq.app.ray_dispatch import NodeTrainer, RayWorker, ray_workers
from seq2seq.app.runs import RUNS_ENV
from seq2seq.app.training_queue import TrainingQueue
from seq2seq.checkpoint import load_checkpoint
from seq2seq.data import load_run_data
from seq2seq.fileio import folder_is_locked
from tests.conftest import quick_config, requires_ray


@pytest.fixture(scope="module")
def cluster():
    import ray

    with LocalRayCluster(nodes=1, cpus=2) as started:
        yield started
        ray.shutdown()


@pytest.fixture
def pool(cluster, tmp_path, monkeypatch, tiny_corpus):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    make_worker, slots = ray_workers(cluster.address)
    assert slots == 2  # the cluster's CPUs
    pool = TrainingPool(
        TrainingQueue(tmp_path / "runs" / "app.sqlite3"),
        slots=1,
        corpus_for=lambda config: load_run_data(config, tiny_corpus),
        make_worker=make_worker,
        poll_s=None,
    )
    yield pool
    pool.close()


@requires_ray
def test_a_queued_run_trains_as_a_ray_task_streams_its_progress_and_its_checkpoint_comes_back(pool):
    entry = pool.submit("me", quick_config(2), "tiny.txt")
    (worker,) = pool.workers
    assert isinstance(worker, RayWorker) and entry.status == "running"
    while worker.state().status == "preparing":  # until the task is sent, the folder locked
        time.sleep(0.05)
    assert folder_is_locked(entry.run_dir)  # as a local run's folder: no one deletes or picks it meanwhile
    assert worker.wait(180) and not folder_is_locked(entry.run_dir)
    state = worker.state()
    assert state.status == "finished", state.error
    assert any(line.startswith("training on Ray node") for line in state.log)
    assert len(state.history) == 2 and state.batches and state.snapshot_count == 2  # streamed back as it trained
    assert [moment["step"] for moment in state.replay] == [row["step"] for row in state.history]
    assert load_checkpoint(state.run_dir / "model.pt").metrics["test"]["total"] == 30
    assert (state.run_dir / "history.csv").read_text().count("\n") == 3
    assert json.loads((state.run_dir / "run.json").read_text())["status"] == "finished"
    pool.dispatch()
    assert pool.queue.latest("me").status == "finished"


@requires_ray
def test_a_ray_worker_killed_mid_run_fails_the_run_with_a_message_and_the_queue_goes_on(pool):
    pool.submit("killed", quick_config(500), "tiny.txt")
    pool.submit("next", quick_config(1), "tiny.txt")
    (worker,) = pool.workers
    deadline = time.monotonic() + 180
    while not (worker.state().batches and any("process" in line for line in worker.state().log)):
        assert time.monotonic() < deadline and worker.busy, worker.state().error
        time.sleep(0.2)
    line = next(line for line in worker.state().log if line.startswith("training on Ray node"))
    os.kill(int(re.search(r"process (\d+)", line).group(1)), signal.SIGKILL)
    assert worker.wait(120)
    state = worker.state()
    assert state.status == "failed" and state.error.startswith("the Ray task training this run was lost")
    assert "\n" not in state.error
    pool.dispatch()
    assert pool.queue.latest("killed").status == "failed" and pool.queue.latest("next").status == "running"
    assert worker.wait(180) and worker.state().status == "finished", worker.state().error  # on the cluster
    assert any(line.startswith("training on Ray node") for line in worker.state().log)
    pool.dispatch()
    assert pool.queue.latest("next").status == "finished"


@requires_ray
def test_a_slots_runs_train_one_after_another_in_the_process_its_actor_made_ready(pool):
    def process(worker) -> str:
        return next(line for line in worker.state().log if line.startswith("training on Ray node")).split()[-1]

    (worker,) = pool.workers
    ready = str(worker.wait_ready())  # the process the slot's actor made, torch imported, before any run
    pool.submit("first", quick_config(1), "tiny.txt")
    pool.submit("second", quick_config(1), "tiny.txt")
    assert worker.wait(180) and worker.state().status == "finished", worker.state().error
    first = process(worker)
    pool.dispatch()
    assert pool.queue.latest("second").status == "running"
    assert worker.wait(180) and worker.state().status == "finished", worker.state().error
    assert process(worker) == first == ready  # no new process, no imports again


@requires_ray
def test_a_stop_reaches_a_run_training_on_its_actor_which_keeps_its_best_model(pool):
    pool.submit("me", quick_config(500), "tiny.txt")
    (worker,) = pool.workers
    deadline = time.monotonic() + 180
    while not worker.state().history:  # a validation has kept a best model
        assert time.monotonic() < deadline and worker.busy, worker.state().error
        time.sleep(0.1)
    assert pool.stop("me")
    assert worker.wait(60)  # not the 500 epochs
    state = worker.state()
    assert (state.status, state.stop_reason) == ("finished", "stopped"), state.error
    assert load_checkpoint(state.run_dir / "model.pt").metrics["test"]["total"] == 30


@requires_ray
@pytest.mark.parametrize(("setting", "slots"), [("", 2), ("1", 1), ("5", 2)])
def test_a_server_on_the_cluster_has_a_slot_per_cpu_or_fewer_if_told(cluster, tmp_path, monkeypatch, setting, slots):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path))
    monkeypatch.setenv(RAY_ENV, cluster.address)
    monkeypatch.setenv(SLOTS_ENV, setting)
    pool = server_pool(lambda config: None)
    pool.close()
    assert [type(worker) for worker in pool.workers] == [RayWorker] * slots  # never more: each actor holds a CPU


@requires_ray
def test_a_stop_that_reaches_the_actor_before_its_run_begins_stops_the_run_when_it_begins(tiny_corpus):
    trainer = NodeTrainer()
    trainer.stop(7)
    outcome = trainer.train(7, quick_config(50).to_dict(), load_run_data(quick_config(50), tiny_corpus), 5)
    assert outcome["stop_reason"] == "stopped" and set(outcome["files"]) == {"model.pt", "history.csv"}
    assert trainer.take()[0][1].startswith("training on Ray node") and trainer.take() == []


class _Call:
    """``handle.method.remote(...)``: the method's value at once."""

    def __init__(self, function) -> None:
        self.remote = function


class StandInRay:
    """Enough of the ``ray`` module for a RayWorker: each run sent to an actor is (the reports it keeps, its result
    or the RayError it raises), taken in turn; ``actors`` counts the actors made."""

    class exceptions:  # noqa: N801 - named as ray's module is
        class RayError(Exception):
            pass

        class RayTaskError(RayError):
            def __init__(self, cause: Exception) -> None:
                super().__init__(f"ray::NodeTrainer.train() (pid=4242, ip=10.0.0.2)\n{cause!r}")
                self.cause = cause

    def __init__(self, runs: list) -> None:
        self.runs = list(runs)
        self.sent = self.actors = 0

    def remote(self, **_options):
        def wrap(target):
            assert target is NodeTrainer
            return _Call(self._new_actor)

        return wrap

    def _new_actor(self):
        self.actors += 1
        reports = []
        return type(
            "Actor",
            (),
            {
                "train": _Call(lambda *_: self._send(reports)),
                "take": _Call(lambda: reports),
                "stop": _Call(lambda run: None),
            },
        )()

    def _send(self, reports: list):
        self.sent += 1
        run_reports, outcome = self.runs.pop(0)
        reports[:] = run_reports
        return outcome

    def wait(self, refs, timeout):
        return refs, []

    def get(self, value):
        if isinstance(value, Exception):
            raise value
        return value

    def kill(self, _handle) -> None:
        pass


RESULT = {"stop_reason": "finished", "test": {"exact_match": 1.0}, "files": {"model.pt": b"weights"}}
BEGAN = [("log", "training on Ray node 10.0.0.2, process 4242")]
DIED = StandInRay.exceptions.RayError("The actor died unexpectedly before finishing this task.")


def test_a_run_whose_actor_had_died_before_the_run_began_is_sent_once_more_to_a_new_actor(tmp_path):
    ray = StandInRay([([], DIED), (BEGAN, RESULT)])
    worker = RayWorker(ray, {"num_cpus": 1})
    assert worker._train_remotely(quick_config(1), None, tmp_path) == ("finished", {"exact_match": 1.0})
    assert ray.sent == 2 and ray.actors == 2 and (tmp_path / "model.pt").read_bytes() == b"weights"
    assert any("died before the run began" in line for line in worker.state().log)


def test_a_run_whose_actor_dies_after_the_run_began_fails_and_the_next_run_gets_a_new_actor(tmp_path):
    ray = StandInRay([(BEGAN, DIED), (BEGAN, RESULT)])
    worker = RayWorker(ray, {"num_cpus": 1})
    with pytest.raises(
        RuntimeError, match="^the Ray task training this run was lost: The actor died unexpectedly before finishing"
    ):
        worker._train_remotely(quick_config(1), None, tmp_path)
    assert ray.sent == 1 and ray.actors == 2 and not (tmp_path / "model.pt").exists()
    assert worker._train_remotely(quick_config(1), None, tmp_path)[0] == "finished"
    assert ray.sent == 2 and ray.actors == 2


def test_a_run_that_raises_fails_with_its_own_line_and_the_actor_stays(tmp_path):
    raised = StandInRay.exceptions.RayTaskError(ValueError("the corpus has no sentence\nmore detail"))
    ray = StandInRay([(BEGAN, raised), (BEGAN, RESULT)])
    worker = RayWorker(ray, {"num_cpus": 1})
    with pytest.raises(RuntimeError, match="^the corpus has no sentence$"):
        worker._train_remotely(quick_config(1), None, tmp_path)
    assert worker._train_remotely(quick_config(1), None, tmp_path)[0] == "finished"
    assert ray.sent == 2 and ray.actors == 1
