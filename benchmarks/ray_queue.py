"""The training queue on one worker against a two-node Ray cluster, in one run (needs ``requirements-ray.txt``):

    python benchmarks/ray_queue.py                      # 4 runs queued at once, each some 15 s on one core
    python benchmarks/ray_queue.py --runs 2 --no-store  # a quick trial

The same ``--runs`` runs (the same settings, the built-in corpus generated once beforehand) are queued at once and
trained to their end twice: by a ``TrainingPool`` of one local slot, as a server on a two-core machine trains them by
default, then by a pool of two ``RayWorker`` slots on a Ray cluster of two nodes started on this machine
(``harness.ray_cluster``: ``ray start --head`` and ``ray start --address=...``, one CPU each), so the runs go two at a
time, one per node. Each pool first waits until its slots can train, as a server makes them when it starts, before
anyone can press Start: the local slot's fork server has imported torch and the training code (it trains each run in a
child process, as a server does), each Ray slot's actor has (the seconds that took are recorded beside the wall time).
Each wall time then runs from the first Start to the last run's end, the runs' way to the cluster and the checkpoints'
way back included. The figures are stored in ``benchmarks/results/ray_queue.json`` and ``.md``
(``benchmarks/stored.py``), which ``docs/classroom.md`` quotes; ``--no-store`` leaves them as they are.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from harness.ray_cluster import LocalRayCluster  # noqa: E402
from seq2seq.app.dispatch import TrainingPool  # noqa: E402
from seq2seq.app.process_worker import ProcessWorker, wait_for_fork_server  # noqa: E402
from seq2seq.app.ray_dispatch import RayWorker, ray_workers  # noqa: E402
from seq2seq.app.runs import RUNS_ENV  # noqa: E402
from seq2seq.app.training_queue import TrainingQueue  # noqa: E402
from seq2seq.config import Config  # noqa: E402
from seq2seq.data import load_run_data  # noqa: E402


def ready(pool: TrainingPool) -> float:
    """Wait until every slot of ``pool`` can train at once, as a server's can by the time anyone presses Start; the
    seconds that took."""
    start = time.perf_counter()
    for worker in pool.workers:
        if isinstance(worker, RayWorker):
            worker.wait_ready()
        elif isinstance(worker, ProcessWorker):
            wait_for_fork_server()
    return round(time.perf_counter() - start, 1)


def drain(pool: TrainingPool, runs: int, config: Config) -> dict:
    """Queue ``runs`` runs of ``config`` at once, once ``pool`` is ready, and train them all: the seconds its slots
    took to be ready, the wall time and each run's outcome."""
    ready_s = ready(pool)
    start = time.perf_counter()
    for n in range(runs):
        pool.submit(f"student{n}", config, "built-in generator")
    while True:
        pool.dispatch()
        entries = [pool.queue.latest(f"student{n}") for n in range(runs)]
        if all(entry.status not in ("queued", "running") for entry in entries):
            break
        time.sleep(0.2)
    wall = time.perf_counter() - start
    pool.close()
    return {
        "ready_s": ready_s,
        "wall_s": round(wall, 1),
        "statuses": [entry.status for entry in entries],
        "run_s": [round(entry.finished_at - entry.started_at, 1) for entry in entries],
    }


def measure(args: argparse.Namespace) -> dict:
    config = Config(device="cpu", corpus_size=args.corpus_size, epochs=args.epochs, evals_per_epoch=2, valid_subset=200)
    data = load_run_data(config)
    with tempfile.TemporaryDirectory() as folder:
        os.environ[RUNS_ENV] = folder  # the run folders, and the queue's database, in a temporary folder
        single = TrainingPool(TrainingQueue(Path(folder) / "single.sqlite3"), 1, lambda _: data, ProcessWorker, None)
        local = drain(single, args.runs, config)
        with LocalRayCluster(nodes=2, cpus=1) as cluster:
            make_worker, slots = ray_workers(cluster.address)
            pool = TrainingPool(TrainingQueue(Path(folder) / "ray.sqlite3"), slots, lambda _: data, make_worker, None)
            ray = drain(pool, args.runs, config)
    return {"config": config.to_dict(), "runs": args.runs, "ray_slots": slots, "single_worker": local, "ray": ray,
            "ratio": round(ray["wall_s"] / local["wall_s"], 2), "cores": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 1)}  # fmt: skip


def markdown(result: dict) -> str:
    rows = [
        "| queue | runs | slots | slots ready in (s) | wall time (s) | each run (s, min-max) | every run finished |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, key, slots in [("one local worker", "single_worker", 1), ("Ray, two nodes", "ray", result["ray_slots"])]:
        figures = result[key]
        finished = all(status == "finished" for status in figures["statuses"])
        rows.append(
            f"| {name} | {result['runs']} | {slots} | {figures['ready_s']:.1f} | {figures['wall_s']:.1f} | "
            f"{min(figures['run_s']):.1f}-{max(figures['run_s']):.1f} | {'yes' if finished else 'no'} |"
        )
    rows.append("")
    rows.append(f"Ray's wall time is {result['ratio']:.2f} of the single worker's: {verdict(result)}.")
    return "\n".join(rows)


def verdict(result: dict) -> str:
    """Whether two nodes halved the queue's wall time, and if not, how much longer each run took on Ray."""
    if result["ratio"] <= 0.6:
        return "about half or less, as two nodes training at once should give"
    slower = statistics.median(result["ray"]["run_s"]) / statistics.median(result["single_worker"]["run_s"])
    return (
        f"not the half two nodes should give; each run took {slower:.1f} times as long on a Ray node as on the local "
        f"worker, with a load average of {result['load_average']:.1f} on {result['cores']} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="runs queued at once")
    parser.add_argument("--corpus-size", type=int, default=20000, help="training sentences of each run")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--no-store", action="store_true", help="print the figures without storing them")
    args = parser.parse_args()
    result = measure(args)
    table = markdown(result)
    print(table)
    if not args.no_store:
        note = f"{result['cores']} cores; load average {result['load_average']:.1f} at the end"
        command = "python benchmarks/ray_queue.py " + " ".join(sys.argv[1:])
        print(f"written to {store('ray_queue', result, table, command.strip(), note)}")


if __name__ == "__main__":
    main()
