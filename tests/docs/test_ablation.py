"""The ablation script (benchmarks/ablation.py) on its tiny setting: every variant trains, is scored and tabled."""

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.ablation import markdown

ROOT = Path(__file__).resolve().parents[2]


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
    rows = {row["variant"]: row for row in ablation["rows"]}
    runs = ablation["runs"]  # every seed's scores, from which the table's means are made
    assert list(runs) == variants and all(len(seeds) == 1 for seeds in runs.values())
    for name, row in rows.items():
        for column in ("normal", "unknown words", "long (1.3x)", "t99"):
            assert row[f"{column}_mean"] == runs[name][0][column]
        assert row["t99_reached"] == ("1/1" if runs[name][0]["t99"] is not None else "0/1")
    # without the copy step no unknown word can come back: the model has no token for it
    assert rows["no <unk> copy"]["unknown words_mean"] == 0.0
    assert runs["no <unk> copy"][0]["t99"] == runs["default"][0]["t99"]  # the same model, decoded differently
    table = [line for line in process.stdout.splitlines() if line.startswith("|")]
    assert table == markdown(ablation).splitlines()  # what it prints is the stored run
