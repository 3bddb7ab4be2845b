"""How fast the Decoder page answers a click: one what-if re-decode, and one beam-5 decode, of a 10-word sentence.

    python benchmarks/decoder_speed.py [--checkpoint artifacts/model.pt] [--repeats 200]

Decodes with one thread, as the app and the command line do, and writes benchmarks/results/decoder_speed.json and
.md (date, machine, commit, median and 90th percentile in ms). Each timing is the library call the page makes:
``Reverser.reverse_tokens`` with the steps recorded (weights, top words, energy term by term) or without.
"""

import argparse
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seq2seq.decoding import Forcing, Reverser  # noqa: E402
from seq2seq.fileio import atomic_write_text, write_json  # noqa: E402

SENTENCE = "the old man saw a small dog near the river".split()
TARGET_MS = 20.0


def timed(call, repeats: int) -> dict:
    call()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "p90_ms": round(times[int(0.9 * len(times))], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default=str(ROOT / "artifacts" / "model.pt"))
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    reverser = Reverser.load(args.checkpoint)
    greedy, beam = reverser, reverser.with_search(beam=5, n_best=5)
    forced = Forcing(words={3: reverser.vocab.stoi["the"]})
    cases = {
        "what-if: force a word at step 4, re-decode (no records)": lambda: greedy.reverse_tokens(
            [SENTENCE], forcing=forced
        ),
        "what-if: force a word at step 4, re-decode, steps recorded": lambda: greedy.reverse_tokens(
            [SENTENCE], forcing=forced, record=True
        ),
        "what-if: one-hot attention at step 4, re-decode (no records)": lambda: greedy.reverse_tokens(
            [SENTENCE], forcing=Forcing(attention=(3, 2))
        ),
        "beam 5, 5-best (no records)": lambda: beam.reverse_tokens([SENTENCE]),
        "beam 5, 5-best, steps and survivors recorded": lambda: beam.reverse_tokens([SENTENCE], record=True),
    }
    results = {name: timed(call, args.repeats) for name, call in cases.items()}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {torch.get_num_threads()} thread(s) "
        f"of {__import__('os').cpu_count()} cores, torch {torch.__version__}",
        "commit": commit.strip(),
        "checkpoint": str(Path(args.checkpoint).name),
        "sentence": " ".join(SENTENCE),
        "repeats": args.repeats,
        "target_ms": TARGET_MS,
        "results": results,
    }
    out = ROOT / "benchmarks" / "results"
    write_json(out / "decoder_speed.json", report)
    lines = [
        "# Decoder page speed",
        "",
        f"{report['date']} · {report['machine']} · commit {report['commit']} · `{report['sentence']}`",
        "",
        "| call | median | 90th percentile | under 20 ms |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['median_ms']} ms | {r['p90_ms']} ms | {'yes' if r['median_ms'] < TARGET_MS else 'no'} |"
        )
    atomic_write_text(out / "decoder_speed.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
