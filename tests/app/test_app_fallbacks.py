"""The app when things go wrong under it: a malformed run checkpoint, a run deleted elsewhere, a run trained from
the command line (AppTest, with the helpers of ``tests/app/conftest.py``)."""

import shutil

import pytest
import torch
from streamlit.testing.v1 import AppTest

from seq2seq.app.runs import write_run_info
from seq2seq.checkpoint import load_checkpoint
from seq2seq.metrics import percent
from tests.app.conftest import APP, PAGES, texts, tiny_settings
from ui import session


def _session_on(path) -> AppTest:
    """A new session whose active model is ``path`` (as "Make active" leaves it), on the Try it page."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[session.MODEL_KEY] = str(path)
    return at.run()


def _malformed(tiny_checkpoint, folder, edit) -> None:
    payload = torch.load(tiny_checkpoint, weights_only=True)
    edit(payload)
    folder.mkdir(parents=True)
    torch.save(payload, folder / "model.pt")
    write_run_info(folder, {"status": "finished", "started_at": 0})


MALFORMED = {
    "flag as text": lambda p: p["config"].update(bidirectional="yes"),
    "test sentence not text": lambda p: p.update(test_sentences=[42]),
    "history field as text": lambda p: p["history"][0].update(valid_loss="low"),
    "snapshot of another shape": lambda p: p["snapshots"][0]["examples"][0].update(attention=[[1.0]]),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_run_model_keeps_the_sidebar_and_offers_the_shipped_default(runs, tiny_checkpoint, case):  # noqa: F811
    folder = runs / "20250101-000000"
    _malformed(tiny_checkpoint, folder, MALFORMED[case])
    at = _session_on(folder / "model.pt")
    for page in [None, *PAGES] if case == "flag as text" else [None]:
        if page:
            at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert "No model loaded." in texts(at.sidebar.error)
        assert any("Active model" in m for m in texts(at.sidebar.markdown))
        if page not in ("pages/train.py", "pages/runs.py"):  # Train and Runs work without a model
            (error,) = [e for e in texts(at.error) if "cannot be loaded" in e]
            assert "model.pt is damaged" in error and "\n" not in error
    at.button(key="use_default_model").click().run()
    assert not at.exception and not at.error
    assert "shipped default" in texts(at.sidebar.markdown)


def test_a_session_whose_run_was_deleted_elsewhere_goes_back_to_the_shipped_model(runs, tiny_checkpoint):  # noqa: F811
    folder = runs / "20250101-000000"
    folder.mkdir(parents=True)
    shutil.copy(tiny_checkpoint, folder / "model.pt")
    write_run_info(folder, {"status": "finished", "started_at": 0})
    at = _session_on(folder / "model.pt")
    assert "run 20250101\\-000000" in texts(at.sidebar.markdown)
    shutil.rmtree(folder)  # another session deleted it (or someone did, by hand)
    at.text_input(key="sentence").input("the cat sat").run()
    assert not at.exception and not at.error
    assert "shipped default" in texts(at.sidebar.markdown)
    assert any("no longer on this server" in i for i in texts(at.sidebar.info))
    assert texts(at.text)[0] == "sat cat the"
    assert at.session_state[session.MODEL_KEY] is None
    at.run()  # said once
    assert not any("no longer on this server" in i for i in texts(at.sidebar.info))


def test_a_command_line_run_is_listed_with_its_accuracy_and_can_be_deleted(runs, tiny_run):  # noqa: F811
    """A folder ``python -m seq2seq train --out`` made (model.pt, history.csv, no run.json) is ours: listed with the
    accuracy its checkpoint stores, and deletable. A folder holding anything else, or a model.pt that is not a
    checkpoint, is listed but never offered for deletion."""
    cli = runs / "mine"
    cli.mkdir(parents=True)
    for name in ("model.pt", "history.csv"):
        shutil.copy(tiny_run / name, cli / name)
    notes = runs / "notes"
    shutil.copytree(cli, notes)
    (notes / "my notes.txt").write_text("keep me")
    fake = runs / "fake"
    fake.mkdir()
    (fake / "model.pt").write_bytes(b"not a checkpoint")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    (table,) = (frame.value.set_index("run") for frame in at.dataframe)
    stored = load_checkpoint(cli / "model.pt").metrics["test"]["exact_match"]
    assert table.loc["mine", "test exact match"] == percent(stored) != percent(None)
    assert at.selectbox(key="delete_choice").options == ["mine"]
    at.selectbox(key="delete_choice").set_value("mine").run()
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_run").click().run()
    assert not at.exception and "Deleted run mine." in texts(at.success)
    assert sorted(p.name for p in runs.iterdir()) == ["fake", "notes"]
    assert (notes / "my notes.txt").read_text() == "keep me"


def test_the_train_page_says_what_a_run_will_get_before_start_and_refuses_what_cannot_be_had(runs):  # noqa: F811
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/train.py").run()
    tiny_settings(at)
    at.run()
    assert "This run will get 200 train / 30 valid / 30 test sentences." in texts(at.caption)
    at.slider(key="length_range").set_value((1, 1)).run()
    at.number_input(key="corpus_size").set_value(1_000).run()
    assert any("found only" in e and "distinct sentences of 1 word" in e for e in texts(at.error)), texts(at.error)
    at.button(key="start_training").click().run()
    assert not at.exception and any(e.startswith("Not started:") and "found only" in e for e in texts(at.error)), (
        texts(at.error),
        texts(at.warning),
        texts(at.success),
    )
    assert not runs.exists() or not any(runs.iterdir())
