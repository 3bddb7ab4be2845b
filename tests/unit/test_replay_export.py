"""The replay taken away: a self-contained HTML animation and an animated GIF, each written atomically."""

import re

import pytest
from PIL import Image

from seq2seq.checkpoint import load_checkpoint
from seq2seq.replay_export import write_replay


@pytest.fixture(scope="module")
def written(tmp_path_factory, tiny_checkpoint):
    snapshots = load_checkpoint(tiny_checkpoint).snapshots
    out = tmp_path_factory.mktemp("replay")
    return snapshots, write_replay(snapshots, out, "tiny model, learning to reverse")


def test_the_gif_opens_with_a_frame_per_moment(written):
    snapshots, (_, gif) = written
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == len(snapshots) > 1


def test_the_html_holds_every_frame_and_loads_no_script_from_the_network(written):
    snapshots, (page, _) = written
    text = page.read_text(encoding="utf-8")
    assert len(snapshots) > 1
    for s in snapshots:
        assert f'"name":"{s["step"]}"' in text  # one Plotly frame per moment
    assert "Plotly.newPlot" in text and "Plotly.addFrames" in text
    assert not re.search(r"<script[^>]*\bsrc=", text)  # plotly.js is inside the page


def test_both_files_are_written_atomically(tmp_path, tiny_checkpoint, monkeypatch):
    """Each goes through fileio's atomic writes (a temporary file, then a rename): a reader never sees half of one."""
    snapshots = load_checkpoint(tiny_checkpoint).snapshots[:2]
    atomic = []
    monkeypatch.setattr("seq2seq.replay_export.atomic_write_text", lambda path, text: atomic.append(path.name))
    monkeypatch.setattr("seq2seq.replay_export.atomic_write", lambda path, write: atomic.append(path.name))
    write_replay(snapshots, tmp_path, "tiny")
    assert atomic == ["replay.html", "replay.gif"] and not list(tmp_path.iterdir())
