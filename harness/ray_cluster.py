"""A Ray cluster on this machine, for the Ray tests and ``benchmarks/ray_queue.py``: ``ray start --head`` and, for each
further node, ``ray start --address=...``, each with ``--block`` in a process session of its own, sharing a temporary
folder. Stopping kills those sessions by their ids (never ``ray stop``, which stops every Ray process on the machine,
other people's too) and removes the folder.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from harness.browser import free_port

RAY = Path(sys.executable).with_name("ray")
# A node's processes (``ray start --block`` itself, its raylet, the GCS) go on for 30 s and more after a SIGTERM: a node
# still there this long after it is SIGKILLed, as ``ray stop --force`` would (its folder is removed next anyway).
STOP_GRACE_S = 5.0
_WAIT_FOR_NODES = textwrap.dedent(
    """
    import sys, time, ray
    ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
    deadline = time.monotonic() + float(sys.argv[3])
    while sum(node["Alive"] for node in ray.nodes()) < int(sys.argv[2]):
        if time.monotonic() > deadline:
            sys.exit(f"fewer than {sys.argv[2]} Ray nodes came up")
        time.sleep(0.5)
    """
)


class LocalRayCluster:
    """``nodes`` Ray nodes of ``cpus`` CPUs each (no GPU), the first the head; ``address`` once started."""

    def __init__(self, nodes: int = 1, cpus: int = 2, timeout: float = 180.0) -> None:
        self.nodes, self.cpus, self.timeout = nodes, cpus, timeout
        self.address = ""
        self.processes: list[subprocess.Popen] = []
        self.folder: Path | None = None

    def __enter__(self) -> "LocalRayCluster":
        # Ray's sockets live in its temporary folder: a short path keeps them under the 107-character socket limit.
        self.folder = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        # No log monitor: the server reads no worker's output (log_to_driver=False), so it would only poll files.
        common = [f"--num-cpus={self.cpus}", "--num-gpus=0", "--include-log-monitor=false", "--disable-usage-stats",
                  "--block"]  # fmt: skip
        try:
            # Every port Ray would otherwise take at a fixed number is a free one: two clusters can run at once.
            self._start("head", "--head", f"--port={port}", "--include-dashboard=false",
                        f"--dashboard-port={free_port()}",
                        f"--temp-dir={self.folder}", *common)  # fmt: skip
            for n in range(1, self.nodes):
                self._start(f"node{n}", f"--address={self.address}", *common)
            waiting = subprocess.Popen(
                [sys.executable, "-c", _WAIT_FOR_NODES, self.address, str(self.nodes), str(self.timeout)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            while waiting.poll() is None:
                if any(process.poll() is not None for process in self.processes):
                    waiting.kill()
                    raise RuntimeError(f"a Ray node did not start:\n{self.log()[-3000:]}")
                time.sleep(0.5)
            if waiting.returncode:
                raise RuntimeError(f"the Ray nodes did not come up:\n{self.log()[-3000:]}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, name: str, *arguments: str) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - the process keeps it; closed with the folder
        # Ray turns token authentication on for a cluster started where ~/.ray/auth_token exists (say, made by someone
        # else's `ray get-auth-token --generate`), and its clients here would not send it: a cluster on this machine
        # for a test or a benchmark stays without, whatever that home folder holds.
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        command = [str(RAY), "start", f"--dashboard-agent-listen-port={free_port()}", *arguments]
        self.processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        )

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log")))

    def __exit__(self, *_) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in reversed(self.processes):
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
