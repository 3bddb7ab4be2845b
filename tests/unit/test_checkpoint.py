"""The checkpoint format: a round trip keeps everything, version 1 files load by renaming, writes are atomic."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seq2seq.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_from_payload,
    load_checkpoint,
    save_checkpoint,
    state_dict_from_v1,
)
from seq2seq.decoding import Reverser
from seq2seq.fileio import atomic_write


def test_round_trip_keeps_everything(tiny_checkpoint, tmp_path):
    checkpoint = load_checkpoint(tiny_checkpoint)
    copy = tmp_path / "copy.pt"
    save_checkpoint(checkpoint, copy)
    again = load_checkpoint(copy)
    assert again.config == checkpoint.config
    assert again.vocab.itos == checkpoint.vocab.itos
    assert again.history == checkpoint.history and again.metrics == checkpoint.metrics
    assert again.test_sentences == checkpoint.test_sentences
    for key, tensor in checkpoint.state_dict.items():
        assert torch.equal(again.state_dict[key], tensor)


def test_checkpoints_load_with_weights_only(tiny_checkpoint):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    assert payload["format_version"] == FORMAT_VERSION
    assert isinstance(payload["config"], dict) and isinstance(payload["vocab"], list)


def test_a_version_1_checkpoint_loads_with_its_attention_layers_renamed(tiny_checkpoint):
    """Version 1 kept U_a, v_a and U_f on the decoder; a file written then still loads and reverses alike."""
    payload = torch.load(tiny_checkpoint, weights_only=True)
    v1_names = {k.replace("decoder.attention.", "decoder."): v for k, v in payload["state_dict"].items()}
    assert "decoder.key.weight" in v1_names and "decoder.location.weight" in v1_names
    old = checkpoint_from_payload({**payload, "format_version": 1, "state_dict": v1_names})
    assert old.state_dict.keys() == payload["state_dict"].keys()
    sentence = "the cat sat on a mat"
    assert Reverser.from_checkpoint(old).reverse(sentence) == Reverser.load(tiny_checkpoint).reverse(sentence)
    # the plain encoder-decoder's unused version 1 attention layers are dropped
    plain = state_dict_from_v1({"decoder.key.weight": 1, "decoder.output.bias": 2}, {"attention": "none"})
    assert plain == {"decoder.output.bias": 2}


def test_other_format_versions_and_damaged_payloads_say_what_is_wrong(tiny_checkpoint):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    with pytest.raises(CheckpointError, match="format version 99"):
        checkpoint_from_payload({**payload, "format_version": 99})
    with pytest.raises(CheckpointError, match="damaged"):
        checkpoint_from_payload({**payload, "config": {**payload["config"], "hidden_size": -1}})
    broken = load_checkpoint(tiny_checkpoint)
    broken.state_dict = {k: v[..., :1] for k, v in broken.state_dict.items()}
    with pytest.raises(
        CheckpointError, match=r"encoder.embedding.weight has shape \(16, 1\), the model needs \(16, 24\)"
    ):
        broken.build_model()


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def failing(handle):
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, failing)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]  # no temporary file left behind


def test_killing_a_process_mid_write_leaves_the_old_checkpoint_loadable(tiny_checkpoint, tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(tiny_checkpoint.read_bytes())
    script = (
        "import os, signal, sys\n"
        "from seq2seq.fileio import atomic_write\n"
        "def write(handle):\n"
        "    handle.write(b'x' * 100000)\n"
        "    handle.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"atomic_write({str(target)!r}, write)\n"
    )
    process = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd())
    assert process.returncode == -9
    assert load_checkpoint(target).history


@pytest.mark.parametrize("folder", ["", "additive", "encdec", "stop"])
def test_the_shipped_checkpoints_load_and_reverse_as_their_stored_scores_say(folder):
    """Those whose stored test score is perfect reverse their first 100 test sentences exactly; every one builds its
    model, and its file keeps the full replay its training took: each moment's exact match per length, and its
    mirror-peak share (none without attention), as stored, not computed on load."""
    path = Path(__file__).resolve().parents[2] / "artifacts" / folder / "model.pt"
    moments = torch.load(path, weights_only=True)["snapshots"]
    assert moments and all(m["exact_by_length"] and "mirror_peak_share" in m for m in moments)
    checkpoint = load_checkpoint(path)
    assert [m["mirror_peak_share"] for m in moments] == [m["mirror_peak_share"] for m in checkpoint.snapshots]
    reverser = Reverser.from_checkpoint(checkpoint)
    sentences = checkpoint.test_sentences[:100]
    outputs = [r.output for r in reverser.reverse_tokens(sentences)]
    assert len(outputs) == len(sentences)
    if checkpoint.metrics["test"]["exact_match"] == 1.0:
        assert outputs == [s[::-1] for s in sentences]
