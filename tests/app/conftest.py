"""Fixtures and helpers of the AppTest tier: the app's entry page and pages, a runs folder with the tiny model as the
default, a model without attention, and the test process's own ``__main__`` kept from test to test."""

import contextlib
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from seq2seq.app.database import DatabaseUnavailable, connect
from seq2seq.app.runs import RUNS_ENV
from seq2seq.app.training_queue import SCHEMA
from seq2seq.data import load_run_data
from seq2seq.paths import CHECKPOINT_ENV
from seq2seq.run_folder import Trainer
from tests.conftest import tiny_config
from ui import training

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "streamlit_app.py")
ENTRY_PAGE = "pages/try_it.py"
PAGES = ["pages/train.py", "pages/examples.py", "pages/attention.py", "pages/analysis.py", "pages/runs.py"]


@pytest.fixture(autouse=True)
def main_module_kept():
    """AppTest runs each script as ``__main__`` and leaves it in ``sys.modules``: a child process started afterwards
    (a training run's, in a later test) would run that script again as it starts, and die where the script was a
    temporary file. Each test here gives the test process its own ``__main__`` back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def runs(monkeypatch, tmp_path, tiny_checkpoint) -> Path:
    """The tiny model as the default, runs in a temporary folder; the shared trainer left idle afterwards."""
    monkeypatch.setenv(CHECKPOINT_ENV, str(tiny_checkpoint))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    close_training_pool()  # the next page makes one on this test's runs folder
    yield tmp_path / "runs"
    leave_training_idle()
    close_training_pool()


def close_training_pool() -> None:
    """Close the server's training pool and forget it. A pool keeps the queue of the runs folder it was made in and
    runs its rounds on a thread of its own: left open, it would go on taking runs from that folder's queue."""
    training.training_pool().close()
    training.training_pool.clear()


def leave_training_idle() -> None:
    """Take every run out of this test's queue, stop the runs going on and record their ends, while the test's runs
    folder is still the server's (the shared pool outlives the test)."""
    pool = training.training_pool()
    with contextlib.suppress(DatabaseUnavailable):  # a test that broke the database on purpose
        if pool.queue.exists():
            with connect(SCHEMA) as db:
                db.execute("UPDATE training_queue SET status = 'cancelled' WHERE status = 'queued'")
    for worker in pool.workers:
        worker.stop()
        assert worker.wait(120), "the training run did not end"
    with contextlib.suppress(DatabaseUnavailable):
        if pool.queue.exists():
            pool.dispatch()


def open_app(page: str | None = None, params: dict | None = None, timeout: float = 60) -> AppTest:
    """``page`` as a link opens it, with the link's ``params`` when given: the app, then the page (none, or Try it:
    the entry page itself, whose first run reads the link)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if page and page != ENTRY_PAGE:
        at.run()
        at.switch_page(page)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def tiny_settings(at: AppTest, epochs: int = 2) -> None:
    if at.radio(key="corpus_kind").value == "built-in generator":
        at.number_input(key="corpus_size").set_value(200)
        at.slider(key="length_range").set_value((1, 4))
    for key, value in [
        ("embedding_size", 8),
        ("hidden_size", 16),
        ("attention_size", 16),
        ("batch_size", 32),
        ("epochs", epochs),
        ("valid_size", 30),
        ("test_size", 30),
    ]:
        at.number_input(key=key).set_value(value)


@pytest.fixture(scope="module")
def plain_checkpoint(tmp_path_factory, tiny_corpus) -> Path:
    """A model without attention (the ablation's plain encoder-decoder), one epoch on the tiny corpus."""
    out = tmp_path_factory.mktemp("plain")
    config = tiny_config(train_file=tiny_corpus.name, attention="none", epochs=1, hidden_size=16, embedding_size=8)
    Trainer(config, load_run_data(config, tiny_corpus), out, log=lambda line: None).run()
    return out / "model.pt"
