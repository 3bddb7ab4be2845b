"""A model trained with the default settings on a user's corpus file, scored on every stress suite. Run by hand.

    python benchmarks/user_corpus.py            # about as long as one default training run

The corpus stands in for a user's file: 20,000 sentences of 3-15 words written to a text file (from the built-in
grammar with another seed, since this machine reaches no outside text), trained on through the same path as
``python -m seq2seq train --train-file``: the file is read, split three ways, and the vocabulary built from its
training split alone. The results go to ``benchmarks/results/user_corpus.json`` and ``.md`` (``benchmarks/stored.py``).
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from seq2seq.config import Config  # noqa: E402
from seq2seq.corpus import generate_corpus  # noqa: E402
from seq2seq.data import load_run_data  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.run_folder import Trainer  # noqa: E402
from seq2seq.stress import build_suites, run_stress, stress_table  # noqa: E402


def write_user_corpus(folder: Path) -> tuple[Path, int]:
    """Write the stand-in corpus file into ``folder``; return its path and its number of lines."""
    corpus = folder / "user-corpus.txt"
    sentences = generate_corpus(22_000, 3, 15, 0.25, seed=2024)
    corpus.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    return corpus, len(sentences)


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        corpus, lines = write_user_corpus(Path(workdir))
        config = Config(train_file=corpus.name)
        data = load_run_data(config, corpus)
        result = Trainer(config, data, Path(workdir) / "run", log=lambda line: None).run()
        reverser = Reverser.load(result.checkpoint_path)
        results = run_stress(reverser, build_suites(reverser.checkpoint))
    text = f"corpus file: {lines:,} lines of 3-15 words; default config; stopped: {result.stop_reason}\n"
    text += stress_table(results)
    print(text)
    data = {"lines": lines, "stop_reason": result.stop_reason, "config": config.to_dict(), "stress": results}
    print(f"written to {store('user_corpus', data, text, 'python benchmarks/user_corpus.py')}")


if __name__ == "__main__":
    main()
