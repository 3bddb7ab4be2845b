"""Training the queue's runs on a Ray cluster (``pip install -r requirements-ray.txt``).

With ``SEQ2SEQ_RAY_ADDRESS`` naming a cluster (``ray start --head`` on one machine, ``ray start --address=...`` on the
others), each of the server's slots is a ``RayWorker``: the run's folder, ``run.json`` and live view stay on the
server as for a local run, but the training itself is a call on the slot's ``NodeTrainer``, a Ray actor that holds one
CPU of the cluster (or one GPU where the cluster has any) for as long as the server runs. The actor is a process on a
node that imported torch and the training code once, as the server started, so a run neither waits for a new process
nor for those imports. The run trains in a temporary folder on its node, keeps its progress reports and log lines in
the actor, which the server collects, and returns the best checkpoint's and the history's bytes, which the server
writes into the run folder: no disk is shared. The ``seq2seq`` package travels to the cluster (Ray's ``py_modules``);
each node needs the packages of ``requirements.txt``.

A run whose actor dies (killed, out of memory, its node lost) once the run has begun is not retried: it fails with a
message, the slot makes a new actor for its next run, and the queue goes on; a run whose actor had died before the run
sent anything is sent once more, to a new one. Without the setting, or when Ray is not installed or the cluster cannot
be reached (logged), the server trains in its own process as it does without Ray.
"""

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from itertools import count
from pathlib import Path

from ..config import Config
from ..data import RunData
from ..errors import one_line
from ..fileio import FolderLock, atomic_write
from ..records import StopReason
from .dispatch import RAY_ENV
from .worker import RemoteRun, TrainingWorker, train_reporting

POLL_S = 0.25  # how often the server collects a remote run's progress
PACKAGE = Path(__file__).resolve().parents[1]  # the seq2seq package, sent to the cluster as the server connects
CALLS = 2  # the actor's threads: a run training on one, the server's collecting and stopping on the other

logger = logging.getLogger(__name__)


class NodeTrainer:
    """A Ray actor (``ray.remote(NodeTrainer)``), one per slot: trains the slot's runs one after another. ``train``
    runs on one of its threads; meanwhile the server takes the run's reports out (``take``) and may ask it to stop
    (``stop``, which a run not begun yet finds when it begins)."""

    def __init__(self) -> None:
        import torch
        import torch._dynamo  # noqa: F401 - what an optimizer's constructor imports: imported now, not by a run

        torch.set_num_threads(1)  # the actor holds one CPU
        self._lock = threading.Lock()
        self._items: list[tuple[str, object]] = []
        self._stopped = 0  # the latest run asked to stop (a slot numbers its runs upwards)

    def train(self, run: int, config: dict, data: RunData, report_every: int) -> dict:
        """Train run number ``run`` in a temporary folder on this node; how it ended and the bytes of its
        ``model.pt`` and ``history.csv``."""
        import ray

        def send(kind: str, item: object) -> bool:
            with self._lock:
                self._items.append((kind, item))
                return run == self._stopped

        with self._lock:
            self._items = []
        with tempfile.TemporaryDirectory(prefix="seq2seq-ray-") as folder:
            send("log", f"training on Ray node {ray.util.get_node_ip_address()}, process {os.getpid()}")
            outcome = train_reporting(Config.from_dict(config), data, folder, send, report_every)
            files = {name: (Path(folder) / name).read_bytes() for name in ("model.pt", "history.csv")}
        return {**outcome, "files": files}

    def ready(self) -> int:
        """This actor's process id, once it is up (torch imported)."""
        return os.getpid()

    def take(self) -> list[tuple[str, object]]:
        """The reports kept since the last ``take``."""
        with self._lock:
            items, self._items = self._items, []
        return items

    def stop(self, run: int) -> None:
        with self._lock:
            self._stopped = max(self._stopped, run)


class RayWorker(TrainingWorker):
    """A training slot whose runs train on its ``NodeTrainer`` actor, made at once so that it is ready (torch
    imported) by the slot's first run; everything else is ``TrainingWorker``'s."""

    def __init__(self, ray, resources: dict, report_every: int = 5) -> None:
        super().__init__(report_every=report_every)
        self.ray = ray
        self.actor_class = ray.remote(max_concurrency=CALLS, **resources)(NodeTrainer)
        self.actor = self.actor_class.remote()
        self._runs = count(1)

    def wait_ready(self) -> int:
        """Wait until the slot's actor is up, torch imported, as a run sent now would first; its process id. A server
        need not: it makes its slots as it starts, and a run waits for its actor if it must."""
        return self.ray.get(self.actor.ready.remote())

    def _train(self, config: Config, data: RunData, run_dir: Path) -> tuple[StopReason, dict]:
        # The run folder is locked here as a local run's is: no one deletes or picks it while the actor trains.
        with FolderLock(run_dir):
            return self._train_remotely(config, data, run_dir)

    def _train_remotely(self, config: Config, data: RunData, run_dir: Path) -> tuple[StopReason, dict]:
        """Train the run on the slot's actor and wait for it. A run whose actor had died before the run reported
        anything is sent once more, to a new actor (the run had not begun); one whose actor dies after it began fails.
        Either way the slot's next run gets a new actor."""
        ray = self.ray
        for attempt in range(2):
            actor, run = self.actor, next(self._runs)
            done = actor.train.remote(run, config.to_dict(), data, self.report_every)
            remote = RemoteRun(lambda actor=actor, run=run: actor.stop.remote(run))
            self._training(remote)
            heard = finished = False
            while not finished:
                finished = bool(ray.wait([done], timeout=POLL_S)[0])
                try:
                    items = ray.get(actor.take.remote())
                except ray.exceptions.RayError:  # the actor is gone: how the run ended is ``done``'s to say
                    break
                heard = heard or bool(items)
                self._take(items, remote)
            try:
                result = ray.get(done)
                break
            except ray.exceptions.RayTaskError as error:  # the run raised: the actor is as good as before
                raise RuntimeError(one_line(error.cause)) from error
            except ray.exceptions.RayError as error:
                self._replace_actor()
                if not heard and attempt == 0:
                    self._log("the Ray actor given this run died before the run began: sending it once more")
                    continue
                raise RuntimeError(f"the Ray task training this run was lost: {one_line(error)}") from error
        for name, content in result["files"].items():
            atomic_write(run_dir / name, lambda handle, content=content: handle.write(content))
        return result["stop_reason"], result["test"]

    def _replace_actor(self) -> None:
        """A new actor for the slot's next run, where the last one is lost (killed for good, should it linger)."""
        with contextlib.suppress(Exception):
            self.ray.kill(self.actor)
        self.actor = self.actor_class.remote()

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the run going on as ``TrainingWorker`` does, then give the slot's CPU (or GPU) back to the cluster."""
        super().shutdown(timeout)
        with contextlib.suppress(Exception):  # at exit, Ray may be gone already
            self.ray.kill(self.actor)


def ray_workers(address: str) -> tuple[Callable[[], TrainingWorker], int] | None:
    """(a maker of workers that train on the cluster at ``address``, the slots its CPUs allow), or None, logged,
    when Ray is not installed or the cluster cannot be reached."""
    try:
        import ray
    except ImportError:
        logger.warning(
            "%s is set but Ray is not installed (pip install -r requirements-ray.txt): training here", RAY_ENV
        )
        return None
    try:
        ray.init(
            address=address,
            runtime_env={"py_modules": [str(PACKAGE)]},
            ignore_reinit_error=True,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
        resources = ray.cluster_resources()
    except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError for an address it cannot use
        logger.warning("the Ray cluster at %s cannot be used (%s): training here", address, error)
        return None
    held = {"num_gpus": 1} if resources.get("GPU", 0) >= 1 else {"num_cpus": 1}
    slots = int(resources.get("GPU", 0)) or int(resources.get("CPU", 1))
    logger.info("training on the Ray cluster at %s: %d slots, each an actor holding %s", address, slots, held)
    return (lambda: RayWorker(ray, held)), max(slots, 1)
