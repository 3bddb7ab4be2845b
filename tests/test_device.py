import pytest
import torch

from seq2seq.device import resolve_device


def test_auto_picks_an_available_device():
    device = resolve_device("auto")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert device.type == expected


def test_cpu_is_always_there_and_missing_accelerators_are_errors():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda")
