import pytest
import torch

from seq2seq.device import resolve_device


def machine(monkeypatch, cuda: bool, mps: bool) -> None:
    """Pretend the machine has (or lacks) CUDA and Apple's MPS."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "picked"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, picked):
    machine(monkeypatch, cuda, mps)
    assert resolve_device("auto") == torch.device(picked)


@pytest.mark.parametrize("name", ["cuda", "mps"])
def test_a_missing_accelerator_is_an_error_that_names_it(monkeypatch, name):
    machine(monkeypatch, cuda=False, mps=False)
    with pytest.raises(ValueError, match=f"--device {name} was asked for, but no {name.upper()} device"):
        resolve_device(name)


def test_named_devices_that_exist_are_returned_as_asked(monkeypatch):
    machine(monkeypatch, cuda=True, mps=True)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("mps") == torch.device("mps")
