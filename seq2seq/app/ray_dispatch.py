"""Training the queue's runs on a Ray cluster (``pip install -r requirements-ray.txt``).

With ``SEQ2SEQ_RAY_ADDRESS`` naming a cluster (``ray start --head`` on one machine, ``ray start --address=...`` on the
others), each of the server's slots is a ``RayWorker``: the run's folder, ``run.json`` and live view stay on the
server as for a local run, but the training itself is a Ray task (one CPU, or one GPU where the cluster has any). The
task trains in a temporary folder on its node, sends every progress report and log line to a small actor that the
server polls, and returns the best checkpoint's and the history's bytes, which the server writes into the run folder:
no disk is shared. The ``seq2seq`` package travels with the task (Ray's ``py_modules``); each node needs the
packages of ``requirements.txt``.

A task whose worker process dies (killed, out of memory, its node lost) once the run has begun is not retried: its run
fails with a message and the queue goes on; one whose worker dies before the run sends anything is sent once more.
Without the setting, or when Ray is not installed or the cluster cannot be reached (logged),
the server trains in its own process as it does without Ray.
"""

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..data import RunData
from ..fileio import FolderLock, atomic_write
from ..records import StopReason
from .dispatch import RAY_ENV
from .worker import RemoteRun, TrainingWorker, train_reporting

POLL_S = 0.25  # how often the server collects a remote run's progress
PACKAGE = Path(__file__).resolve().parents[1]  # the seq2seq package, sent to the cluster with every task

logger = logging.getLogger(__name__)


class ProgressBox:
    """A Ray actor (``ray.remote(ProgressBox)``) between a remote run and the server: the run puts its reports in
    and asks whether to stop; the server takes them out and asks it to stop."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []
        self.stopping = False

    def put(self, kind: str, item: object) -> bool:
        """Keep one report ("progress" or "log"); returns whether the run was asked to stop."""
        self.items.append((kind, item))
        return self.stopping

    def take(self) -> list[tuple[str, object]]:
        items, self.items = self.items, []
        return items

    def stop(self) -> None:
        self.stopping = True


def train_on_node(config: dict, data: RunData, box, report_every: int) -> dict:
    """The Ray task: train in a temporary folder on this node, reporting to ``box``; returns how the run ended and
    the bytes of its ``model.pt`` and ``history.csv``."""
    import ray
    import torch

    torch.set_num_threads(1)  # the task holds one CPU
    with tempfile.TemporaryDirectory(prefix="seq2seq-ray-") as folder:
        box.put.remote("log", f"training on Ray node {ray.util.get_node_ip_address()}, process {os.getpid()}")
        outcome = train_reporting(
            Config.from_dict(config), data, folder, lambda kind, item: ray.get(box.put.remote(kind, item)), report_every
        )
        files = {name: (Path(folder) / name).read_bytes() for name in ("model.pt", "history.csv")}
    return {**outcome, "files": files}


class RayWorker(TrainingWorker):
    """A training slot whose runs train as Ray tasks; everything else is ``TrainingWorker``'s."""

    def __init__(self, ray, resources: dict, report_every: int = 5) -> None:
        super().__init__(report_every=report_every)
        self.ray = ray
        self.task = ray.remote(max_retries=0, **resources)(train_on_node)
        self.box_class = ray.remote(num_cpus=0)(ProgressBox)

    def _train(self, config: Config, data: RunData, run_dir: Path) -> tuple[StopReason, dict]:
        # The run folder is locked here as a local run's is: no one deletes or picks it while the task trains.
        with FolderLock(run_dir):
            return self._train_remotely(config, data, run_dir)

    def _train_remotely(self, config: Config, data: RunData, run_dir: Path) -> tuple[StopReason, dict]:
        """Train the run as a Ray task and wait for it. A task whose worker dies before it reports anything is sent
        once more (Ray can hand a new task to a worker that is dying; the run had not begun); one that dies after it
        began fails its run."""
        ray = self.ray
        for attempt in range(2):
            box = self.box_class.remote()
            heard = False
            try:
                done = self.task.remote(config.to_dict(), data, box, self.report_every)
                remote = RemoteRun(box.stop.remote)
                self._training(remote)
                finished = False
                while not finished:
                    finished = bool(ray.wait([done], timeout=POLL_S)[0])
                    items = ray.get(box.take.remote())
                    heard = heard or bool(items)
                    self._take(items, remote)
                try:
                    result = ray.get(done)
                    break
                except ray.exceptions.RayError as error:
                    if not heard and attempt == 0:
                        self._log("the Ray worker given this run died before the run began: sending it once more")
                        continue
                    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
                    raise RuntimeError(
                        f"the Ray task training this run was lost: {lines[0] if lines else repr(error)}"
                    ) from error
            finally:
                ray.kill(box)
        for name, content in result["files"].items():
            atomic_write(run_dir / name, lambda handle, content=content: handle.write(content))
        return result["stop_reason"], result["test"]


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
    task = {"num_gpus": 1} if resources.get("GPU", 0) >= 1 else {"num_cpus": 1}
    slots = int(resources.get("GPU", 0)) or int(resources.get("CPU", 1))
    logger.info("training on the Ray cluster at %s: %d slots, each task %s", address, slots, task)
    return (lambda: RayWorker(ray, task)), max(slots, 1)
