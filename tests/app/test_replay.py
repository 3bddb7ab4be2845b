"""The Train page's replay, through AppTest: a link opens a run at the moment nearest its step, the slider scrubs, a
model without attention replays its decodes only, and the curves of several runs are overlaid."""

import base64
import json
import time

import numpy as np
from streamlit.testing.v1 import AppTest

from seq2seq.app.runs import write_run_info
from seq2seq.checkpoint import load_checkpoint
from seq2seq.data import load_run_data
from seq2seq.paths import CHECKPOINT_ENV
from seq2seq.replay import markers
from tests.app.conftest import open_app
from tests.conftest import tiny_config
from ui import training


def moment_heading(at: AppTest) -> str:
    return next(m.value.replace("\\", "").strip("*") for m in at.markdown if "peak on the mirror word" in m.value)


def heatmap_cells(at: AppTest) -> list:
    """The weights of the heatmap as the page sent them (Plotly sends an array as base64 of its dtype)."""
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("replay_heatmap"))
    z = json.loads(chart.proto.spec)["data"][0]["z"]
    shape = tuple(int(n) for n in z["shape"].split(","))
    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape).tolist()


def same(cells: list, weights: list) -> bool:
    """Equal to the precision the page sends (Plotly may send the weights as 32-bit floats)."""
    return np.shape(cells) == np.shape(weights) and np.allclose(cells, weights, atol=1e-6)


def verdict(example: dict) -> str:
    return "right" if example["output"] == example["tokens"][::-1] else "wrong"


def test_a_link_opens_the_nearest_moment_and_the_slider_scrubs_to_another(runs, tiny_checkpoint):
    snapshots = load_checkpoint(tiny_checkpoint).snapshots
    first, second = snapshots[0], snapshots[1]
    at = open_app("pages/train.py", {"run": "default", "step": str(second["step"] - 1)})
    assert moment_heading(at).startswith(f"step {second['step']:,} (epoch {second['epoch']})")
    assert same(heatmap_cells(at), second["examples"][-1]["attention"])
    decodes = [t.value for t in at.text]
    assert decodes == [f"{len(e['tokens'])} words, {verdict(e)}:  {' '.join(e['output'])}" for e in second["examples"]]
    at.radio(key="replay_sentence").set_value(0).run()  # the shortest watched sentence's attention
    assert same(heatmap_cells(at), second["examples"][0]["attention"])
    at.radio(key="replay_sentence").set_value(len(second["examples"]) - 1).run()
    at.select_slider(key="replay_step").set_value(first["step"]).run()
    assert moment_heading(at).startswith(f"step {first['step']:,}")
    assert same(heatmap_cells(at), first["examples"][-1]["attention"])
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("replay_lengths"))
    bars = json.loads(chart.proto.spec)["data"][0]
    assert bars["x"] == [int(n) for n in first["exact_by_length"]]
    assert bars["y"] == [100 * v for v in first["exact_by_length"].values()]  # that moment's exact match per length
    assert dict(at.query_params) == {"step": str(first["step"]), "model": "default", "run": "default"}


def test_a_link_to_an_unknown_run_says_so_and_shows_another(runs):
    at = open_app("pages/train.py", {"run": "nope", "step": "3"})
    assert any("The link's run 'nope' is not a shipped model" in i.value.replace("\\", "") for i in at.info)
    assert moment_heading(at)


def test_a_model_without_attention_replays_its_decodes_and_says_why_no_heatmap(runs, monkeypatch, plain_checkpoint):
    monkeypatch.setenv(CHECKPOINT_ENV, str(plain_checkpoint))
    at = open_app("pages/train.py")
    assert "n/a (no attention)" in moment_heading(at)
    assert any("has no attention: no heatmap to watch" in i.value for i in at.info)
    assert any("no alignment can emerge" in c.value for c in at.caption)
    assert not [c for c in at.get("plotly_chart") if "replay_heatmap" in c.proto.id]
    assert sum(" words, " in t.value for t in at.text) == len(
        load_checkpoint(plain_checkpoint).snapshots[0]["examples"]
    )


def test_the_curves_of_several_runs_share_one_axis_with_their_markers(runs, tiny_checkpoint, plain_checkpoint):
    run = runs / "20250101-120000"
    run.mkdir(parents=True)
    write_run_info(run, {"status": "finished"})
    (run / "model.pt").write_bytes(plain_checkpoint.read_bytes())
    at = open_app("pages/train.py")
    picker = at.multiselect(key="replay_overlay")
    assert picker.value == [str(tiny_checkpoint)]  # the shipped models there are (here only the default)
    picker.set_value([str(tiny_checkpoint), str(run / "model.pt")]).run()
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("replay_overlay_chart"))
    traces = json.loads(chart.proto.spec)["data"]
    lines = [t["name"] for t in traces if t["mode"] == "lines"]
    assert lines == ["shipped default", "run 20250101-120000"]
    checkpoint = load_checkpoint(tiny_checkpoint)
    marked = [t["x"] for t in traces if t["mode"] == "markers"]
    assert marked == [[m.step] for m in markers(checkpoint.history, checkpoint.snapshots)]  # none for the plain run


def test_the_run_training_now_is_replayed_as_it_goes(runs, tiny_corpus):
    (worker, *_) = training.training_pool().workers  # started here, not through the queue
    config = tiny_config(train_file=tiny_corpus.name, epochs=500, evals_per_epoch=2)
    state = worker.start(config, runs, load_run_data(config, tiny_corpus))
    deadline = time.monotonic() + 60
    while len(worker.state(max_points=0).replay) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    at = open_app("pages/train.py")
    picker = at.selectbox(key="replay_run")
    assert picker.options[0].startswith(f"run {state.run_dir.name} (training now)")  # offered first,
    assert picker.value != str(state.checkpoint_path)  # not picked for you: the live view above shows it
    picker.set_value(str(state.checkpoint_path)).run()
    live = worker.state(max_points=0)
    assert live.active and len(live.replay) >= 2
    at.select_slider(key="replay_step").set_value(live.replay[0]["step"]).run()
    assert moment_heading(at).startswith(f"step {live.replay[0]['step']:,} (epoch 1)")
    worker.stop()


def test_play_steps_through_the_moments_and_round_again(runs, tiny_checkpoint):
    snapshots = load_checkpoint(tiny_checkpoint).snapshots
    at = open_app("pages/train.py", {"run": "default", "step": str(snapshots[-2]["step"])})
    at.toggle(key="replay_play").set_value(True).run()  # each run while playing shows the next moment
    assert moment_heading(at).startswith(f"step {snapshots[-1]['step']:,}")
    at.run()
    assert moment_heading(at).startswith(f"step {snapshots[0]['step']:,}")  # after the last, the first
    at.toggle(key="replay_play").set_value(False).run()
    assert moment_heading(at).startswith(f"step {snapshots[0]['step']:,}")  # stopped where it was


def test_the_overlaid_curves_are_built_once_for_every_session(runs, tiny_checkpoint, monkeypatch):
    import ui.replay

    built = []
    build = ui.replay.overlay_figure
    monkeypatch.setattr(ui.replay, "overlay_figure", lambda lines: built.append(lines) or build(lines))
    ui.replay._overlay_figure.clear()
    for _ in range(2):  # two sessions
        at = open_app("pages/train.py")
        chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("replay_overlay_chart"))
        assert [t["name"] for t in json.loads(chart.proto.spec)["data"] if t["mode"] == "lines"] == ["shipped default"]
    assert len(built) == 1
