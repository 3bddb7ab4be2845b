"""Shared fixtures: a tiny corpus, and a tiny model trained on it once per test session (a few seconds)."""

import importlib.util
import random
import shutil
from pathlib import Path

import pytest
import torch

from seq2seq.config import Config
from seq2seq.data import load_run_data
from seq2seq.decoding import Reverser
from seq2seq.run_folder import Trainer

TINY_WORDS = ["the", "cat", "dog", "sat", "ran", "on", "mat", "big", "red", "saw", "a", "bird"]


requires_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install -r requirements-ray.txt)"
)


def tiny_config(**changes) -> Config:
    base = Config(
        embedding_size=24,
        hidden_size=32,
        attention_size=32,
        batch_size=32,
        lr=1e-2,
        epochs=12,
        valid_size=60,
        test_size=60,
        seed=0,
        device="cpu",
        join_share=0.0,
        random_extra_share=0.0,
        unk_rate=0.0,
    )
    return base.replace(**changes)


def quick_config(epochs: int, **changes) -> Config:
    """A run on ``tiny_corpus`` (``train_file="tiny.txt"``) with a smaller model still: a few epochs in a second."""
    return tiny_config(train_file="tiny.txt", embedding_size=8, hidden_size=16, attention_size=16, epochs=epochs,
                       valid_size=30, test_size=30, **changes)  # fmt: skip


def write_tiny_corpus(path: Path, count: int = 900, lengths: tuple[int, int] = (1, 4), seed: int = 0) -> Path:
    rng = random.Random(seed)
    lines = {" ".join(rng.choice(TINY_WORDS) for _ in range(rng.randint(*lengths))) for _ in range(count)}
    path.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus") / "tiny.txt")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_corpus) -> Path:
    """A run folder holding a model trained on ``tiny_corpus``: it reverses 1-4 word sentences of TINY_WORDS."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    config = tiny_config(train_file=tiny_corpus.name, target_accuracy=1.0)
    Trainer(config, load_run_data(config, tiny_corpus), out, log=lambda line: None).run()
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_run) -> Path:
    return tiny_run / "model.pt"


@pytest.fixture(scope="session")
def tiny_reverser(tiny_checkpoint) -> Reverser:
    return Reverser.load(tiny_checkpoint)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, tiny_checkpoint, tiny_corpus) -> Path:
    """An artifacts folder: the tiny model as the default, and tiny 2014-additive and encoder-decoder models beside it
    (a few epochs: only the page is under test)."""
    folder = tmp_path_factory.mktemp("artifacts")
    shutil.copy(tiny_checkpoint, folder / "model.pt")
    for kind in ("additive", "encdec"):
        config = tiny_config(train_file=tiny_corpus.name, attention=kind, epochs=3)
        Trainer(config, load_run_data(config, tiny_corpus), folder / kind, log=lambda line: None).run()
    return folder / "model.pt"
