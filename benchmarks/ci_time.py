"""CI in a fresh clone, timed: clone this repository's HEAD into a temporary folder and run ``bash .ci/run`` there
(a fresh virtual environment, ruff, the whole test suite). Stores the times and the test counts in
``benchmarks/results/ci.json`` and ``.md`` (``benchmarks/stored.py``), which ``docs/`` quotes. A failed run stores
nothing: it names the failing tests and keeps the whole output in ``seq2seq-ci.log`` in the temporary folder.

    python benchmarks/ci_time.py
"""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="seq2seq-ci-") as folder:
        clone = Path(folder) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        started = time.perf_counter()
        process = subprocess.run(["bash", ".ci/run"], cwd=clone, capture_output=True, text=True)
        total = time.perf_counter() - started
    output = process.stdout + process.stderr
    print(output[-3000:])
    failures = [line for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    if failures:
        print("\n".join(["failing tests:", *failures]), file=sys.stderr)
    log = Path(tempfile.gettempdir()) / "seq2seq-ci.log"
    log.write_text(output)
    print(f"the whole output: {log}")
    summary = re.search(r"(\d+) passed(?:, (\d+) skipped)?.* in ([\d.]+)s", output)
    times = re.search(r"ci: install (\d+) s, tests (\d+) s, total (\d+) s", output)
    if process.returncode != 0 or not summary or not times:
        print(f"CI failed (exit {process.returncode}); nothing stored", file=sys.stderr)
        return 1
    data = {
        "exit_code": process.returncode,
        "total_seconds": round(total),
        "install_seconds": int(times[1]),
        "test_seconds": int(times[2]),
        "tests_passed": int(summary[1]),
        "tests_skipped": int(summary[2] or 0),
    }
    table = (
        f"`bash .ci/run` in a fresh clone: {data['total_seconds']} s in all, {data['install_seconds']} s of it "
        f"installing into a fresh virtual environment, {data['test_seconds']} s the tests "
        f"({data['tests_passed']} passed, {data['tests_skipped']} skipped)"
    )
    print(f"{table}\nwritten to {store('ci', data, table, 'python benchmarks/ci_time.py')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
