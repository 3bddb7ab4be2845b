"""The ablation script (benchmarks/ablation.py) on its tiny setting: every variant trains, is scored and tabled."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ablation_runs_every_variant_on_a_tiny_setting(tmp_path):
    out = tmp_path / "ablation.json"
    process = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ablation.py"), "--tiny", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    ablation = json.loads(out.read_text())
    variants = [row["variant"] for row in ablation["rows"]]
    assert variants[0] == "default" and "no <unk> copy" in variants
    assert "no attention: encoder-decoder (the paper's baseline)" in variants
    assert "no attention: mean of the annotations" in variants
    assert len(variants) == 11
    for row in ablation["rows"]:
        assert 0.0 <= row["normal_mean"] <= 1.0 and row["t99_reached"].endswith("/1")
    table = [line for line in process.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(variants)  # the header, then a row per variant
