"""Where the benchmarks keep what they measured: ``benchmarks/results/<name>.json`` and ``<name>.md``.

Each file says when, on what machine and at which commit the figures were made, by which command, and whether they
were measured by that command or transcribed from an earlier README (``source``). The README and ``docs/`` quote these
files, and ``tests/docs/test_docs_figures.py`` checks that their tables hold the stored numbers.
"""

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MEASURED = "measured"


def machine() -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=RESULTS.parent,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    return (head.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def store(name: str, data: dict, table: str, command: str, note: str = "") -> Path:
    """Write ``data`` (the figures) and ``table`` (the Markdown the docs quote) as measured now."""
    record = {
        "benchmark": name,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "commit": commit(),
        "command": command,
        "source": MEASURED,
        "note": note,
        "data": data,
        "markdown": table,
    }
    return write(record)


def write(record: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{record['benchmark']}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    header = (
        f"<!-- {record['benchmark']}: {record['source']}; {record['date']}; {record['machine']}; "
        f"commit {record['commit']}; `{record['command']}` -->\n"
    )
    path.with_suffix(".md").write_text(header + record["markdown"].rstrip("\n") + "\n", encoding="utf-8")
    return path


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
