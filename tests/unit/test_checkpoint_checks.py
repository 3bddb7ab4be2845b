"""The checks between a hostile or damaged checkpoint file and the model: every refusal names what is wrong."""

import os
import pickle
import subprocess
import sys
import threading

import pytest
import torch

from seq2seq.checkpoint import checkpoint_from_payload, load_checkpoint
from seq2seq.checkpoint_checks import (
    MAX_CHECKPOINT_BYTES,
    MAX_REPLAY_MOMENTS,
    MAX_VOCABULARY,
    CheckpointError,
    _ShapesOnly,
)
from seq2seq.cli import main


def test_missing_truncated_and_foreign_files_are_refused(tiny_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(truncated)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(text)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a seq2seq-reverser checkpoint"):
        load_checkpoint(foreign)


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = ""


def test_a_hostile_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    global MARKER
    marker = tmp_path / "pwned"
    MARKER = str(marker)
    hostile = tmp_path / "hostile.pt"
    hostile.write_bytes(pickle.dumps({"format": "seq2seq-reverser", "x": _Payload()}, protocol=2))
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(hostile)
    assert not marker.exists()


# ------------------------------------------------------------------------------------------------- crafted files
def _payload(tiny_checkpoint) -> dict:
    return torch.load(tiny_checkpoint, weights_only=True)


def _edited(payload: dict, **changes) -> dict:
    return {**payload, **changes}


def _crafted_cases(payload: dict) -> dict[str, tuple[dict, str]]:
    """Edits of a real tiny checkpoint's payload, each with the words its refusal must hold."""
    config, vocab, weights = payload["config"], payload["vocab"], payload["state_dict"]
    history, test = payload["history"], payload["test"] if "test" in payload else payload["metrics"]["test"]
    row, snapshot = history[0], payload["snapshots"][0]
    example = snapshot["examples"][0]
    longest = ["cat"] * 100  # ten watched sentences of 100 words, each decoded to 199 words and <eos>
    huge = {**snapshot, "examples": [{"tokens": longest, "output": longest * 2, "attention": [[0.0] * 101] * 200}] * 10}
    key = "encoder.embedding.weight"
    return {
        "bool as text": (_edited(payload, config={**config, "bidirectional": "yes"}), "config field bidirectional"),
        "float as text": (_edited(payload, config={**config, "lr": "0.01"}), "config field lr"),
        "int as float": (_edited(payload, config={**config, "hidden_size": 32.0}), "config field hidden_size"),
        "long file name": (_edited(payload, config={**config, "train_file": "x" * 10_000}), "config field train_file"),
        "unknown field": (_edited(payload, extra=1), "unknown fields: extra"),
        "vocab not a list": (_edited(payload, vocab="the cat"), "vocab must be a list"),
        "vocab word not text": (_edited(payload, vocab=[*vocab, 7]), "vocabulary word 7"),
        "vocab word empty": (_edited(payload, vocab=[*vocab, ""]), "vocabulary word ''"),
        "vocab word with space": (_edited(payload, vocab=[*vocab, "a b"]), "vocabulary word 'a b'"),
        "vocab duplicate": (_edited(payload, vocab=[*vocab, vocab[-1]]), "twice"),
        "vocab over the cap": (_edited(payload, vocab=[f"w{i}" for i in range(MAX_VOCABULARY + 1)]), "the limit is"),
        "weights of another size": (
            _edited(payload, config={**config, "hidden_size": 64}),
            "encoder.rnn.weight_ih_l0 has shape (96, 24), the model needs (192, 24)",
        ),
        "a weight missing": (_edited(payload, state_dict={k: v for k, v in weights.items() if k != key}), "missing"),
        "a weight extra": (_edited(payload, state_dict={**weights, "spy": torch.zeros(1)}), "spy is not in it"),
        "weight of another dtype": (_edited(payload, state_dict={**weights, key: weights[key].double()}), "float32"),
        "weight not a tensor": (_edited(payload, state_dict={**weights, key: [1.0]}), "not a dense"),
        "weight with NaN": (
            _edited(payload, state_dict={**weights, key: torch.full_like(weights[key], float("nan"))}),
            "NaN",
        ),
        "weight stretched from one value": (
            _edited(payload, state_dict={**weights, key: torch.zeros(1).expand(weights[key].shape)}),
            "does not hold the values its shape claims",
        ),
        "test sentence not text": (_edited(payload, test_sentences=[42]), "test sentence 42 is not a string"),
        "test sentence too long": (_edited(payload, test_sentences=[" ".join(["cat"] * 101)]), "over 100 tokens"),
        "test sentence huge": (_edited(payload, test_sentences=["cat" * 100_000]), "characters long"),
        "test sentence with empty token": (_edited(payload, test_sentences=["the  cat"]), "not tokens joined"),
        "too many test sentences": (_edited(payload, test_sentences=["cat"] * 100_001), "the limit is 100,000"),
        "history not a list": (_edited(payload, history={"epoch": 1}), "history must be a list"),
        "history row not a dict": (_edited(payload, history=[*history, 3]), "history row is not a dict"),
        "history row of many fields": (
            _edited(payload, history=[{**row, **{f"f{i}": 0 for i in range(60)}}]),
            "at most 50 fields",
        ),
        "history field as text": (_edited(payload, history=[{**row, "valid_loss": "low"}]), "valid_loss"),
        "history field missing": (_edited(payload, history=[{"epoch": 1}]), "has no step"),
        "history epoch fractional": (_edited(payload, history=[{**row, "epoch": 1.5}]), "epoch and step"),
        "history too long": (_edited(payload, history=[row] * 100_000), "allows at most"),
        "metrics not a dict": (_edited(payload, metrics=[1]), "metrics must be a dict"),
        "metrics holds a tensor": (_edited(payload, metrics={"x": torch.zeros(2)}), "metrics hold a Tensor"),
        "metrics test out of range": (
            _edited(payload, metrics={"test": {**test, "exact_match": 2.0}}),
            "exact_match (0 to 1)",
        ),
        "metrics data length huge": (
            _edited(payload, metrics={"data": {"train_max_length": 10**9}}),
            "train_max_length is over 100",
        ),
        "metrics nested deeply": (_edited(payload, metrics={"x": [[[[[[[[[[1]]]]]]]]]]}), "nested too deeply"),
        "snapshots too many": (_edited(payload, snapshots=[snapshot] * 100_000), "its config allows"),
        "replay over its cap however long the run": (
            _edited(payload, config={**config, "epochs": 1_000}, snapshots=[snapshot] * 101),
            f"the limit is {MAX_REPLAY_MOMENTS}",
        ),
        "replay of huge attention": (_edited(payload, snapshots=[huge] * 3), "over 500,000 attention weights"),
        "replay moment missing its share": (
            _edited(payload, snapshots=[{k: v for k, v in snapshot.items() if k != "mirror_peak_share"}]),
            "a snapshot must hold",
        ),
        "replay length not a length": (
            _edited(payload, snapshots=[{**snapshot, "exact_by_length": {"9999": 0.5}}]),
            "sentence length '9999'",
        ),
        "replay exact match out of range": (
            _edited(payload, snapshots=[{**snapshot, "exact_by_length": {"3": 1.5}}]),
            "not a share from 0 to 1",
        ),
        "replay share not a number": (
            _edited(payload, snapshots=[{**snapshot, "mirror_peak_share": float("nan")}]),
            "mirror-peak share is not a share",
        ),
        "snapshot not a dict": (_edited(payload, snapshots=["x"]), "snapshot is not a dict"),
        "snapshot attention of another shape": (
            _edited(payload, snapshots=[{**snapshot, "examples": [{**example, "attention": [[0.5]]}]}]),
            "does not match its tokens and output",
        ),
        "snapshot tokens not text": (
            _edited(payload, snapshots=[{**snapshot, "examples": [{**example, "tokens": [1, 2]}]}]),
            "snapshot's tokens are bad",
        ),
    }


def test_every_field_of_a_crafted_checkpoint_is_checked_and_named(tiny_checkpoint):
    payload = _payload(tiny_checkpoint)
    checkpoint_from_payload(payload)  # the real one passes every check
    for case, (crafted, words) in _crafted_cases(payload).items():
        with pytest.raises(CheckpointError) as refused:
            checkpoint_from_payload(crafted, "crafted.pt")
        message = str(refused.value)
        assert words in message, f"{case}: {message}"
        assert "\n" not in message and len(message) < 400, case


@pytest.mark.parametrize(
    "case", ["bool as text", "test sentence not text", "history field as text", "weight stretched from one value"]
)
def test_the_cli_says_what_is_wrong_with_a_crafted_checkpoint_in_one_line(tiny_checkpoint, tmp_path, capsys, case):
    crafted, words = _crafted_cases(_payload(tiny_checkpoint))[case]
    path = tmp_path / "crafted.pt"
    torch.save(crafted, path)
    for command in ("evaluate", "info", "reverse"):
        args = [command, "--checkpoint", str(path)] + (["the cat"] if command == "reverse" else [])
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: crafted.pt is damaged") or err.startswith("error: the weights"), err
        assert words in err and "\n" not in err and "Traceback" not in err


def test_a_small_file_asking_for_a_huge_model_is_refused_before_any_allocation(tiny_checkpoint, tmp_path):
    """Weights checked against a meta-device model: a 200,000-word vocabulary with 512-unit sizes would need about
    1.2 GB to build; the refusal must come with the process never near that."""
    payload = _payload(tiny_checkpoint)
    sizes = {"embedding_size": 512, "hidden_size": 512, "attention_size": 512}
    crafted = _edited(
        payload,
        config={**payload["config"], **sizes},
        vocab=[*payload["vocab"][:4], *map(str, range(MAX_VOCABULARY - 4))],
    )
    path = tmp_path / "huge.pt"
    torch.save(crafted, path)
    assert path.stat().st_size < 5 * 2**20
    script = (
        "import resource, sys\n"
        "from seq2seq.checkpoint import CheckpointError, load_checkpoint\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        f"    load_checkpoint({str(path)!r}).build_model()\n"
        "except CheckpointError as error:\n"
        "    print(error)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    message, grown_kb = out.stdout.strip().splitlines()
    assert "encoder.embedding.weight has shape (16, 24), the model needs (200000, 512)" in message
    assert int(grown_kb) < 300 * 1024, f"loading grew the process by {int(grown_kb) // 1024} MB"


def test_a_folder_a_device_a_fifo_and_an_oversized_file_are_named_and_never_read(tmp_path):
    with pytest.raises(CheckpointError, match="is a directory"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="is not a regular file"):
        load_checkpoint("/dev/null")
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(_refusal(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "loading a FIFO blocked"
    assert "is not a regular file" in outcome[0]
    big = tmp_path / "big.pt"
    with open(big, "wb") as handle:
        handle.truncate(MAX_CHECKPOINT_BYTES + 1)  # sparse: takes no disk space
    with pytest.raises(CheckpointError, match="checkpoints are read up to 1,024 MB"):
        load_checkpoint(big)


def _refusal(path) -> str:
    try:
        load_checkpoint(path)
    except CheckpointError as error:
        return str(error)
    return "loaded"


def test_checking_the_weights_leaves_torch_dynamo_unimported(tiny_checkpoint):
    """The meta model that gives the expected shapes skips its random initialisation: ``normal_`` on ``meta`` would
    import ``torch._dynamo``, about 1 s of every fresh process's first load (the CLI's, the app server's)."""
    script = (
        "import sys\n"
        "from seq2seq.decoding import Reverser\n"
        f"Reverser.load({str(tiny_checkpoint)!r})\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_skipping_initialisation_holds_for_the_checking_thread_only():
    """A model built on another thread while weights are checked (a training run starting) is initialised as usual."""
    built = []
    with torch.device("meta"), _ShapesOnly():
        other = threading.Thread(target=lambda: built.append(torch.nn.Embedding(1000, 16)))
        other.start()
        other.join()
    assert 0.9 < built[0].weight.std().item() < 1.1  # init.normal_: a standard normal
