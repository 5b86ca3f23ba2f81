"""A SIGTERM that lands while torch.save is writing: torch's C++ writer would turn the handler's KeyboardInterrupt
into ``RuntimeError: unexpected pos`` (seen in CI) and training would exit 1 as if it had crashed. The write is
deferred instead: the checkpoint completes and the interrupt is raised after it. Without the deferral the
signalling write below leaves no checkpoint at all."""

import os
import signal

import pytest
import torch

import metta.rl.checkpoint as ckpt
from metta.agent.factory import make_policy
from metta.common import interrupt
from metta.rl.checkpoint import load_checkpoint, save_checkpoint
from metta.rl.job import _failure
from metta.rl.trainer_config import AgentConfig


class _SignalOnFirstWrite:
    """A file wrapper whose first write (called from torch's C++ writer) delivers SIGTERM to this process."""

    def __init__(self, fh):
        self.fh, self.sent = fh, False

    def write(self, data):
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)


def _signalling_save(real_save):
    def save(obj, fh, *a, **kw):
        return real_save(obj, _SignalOnFirstWrite(fh), *a, **kw)

    return save


def _policy():
    torch.manual_seed(0)
    return make_policy(AgentConfig(name="mlp", lstm_layers=1), 19)


def test_sigterm_during_checkpoint_write_keeps_the_checkpoint_and_raises_keyboard_interrupt(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt.torch, "save", _signalling_save(torch.save))
    policy = _policy()
    with interrupt.handling((signal.SIGTERM,)), pytest.raises(KeyboardInterrupt, match="terminated by SIGTERM"):
        save_checkpoint(tmp_path, 3, 300, policy, None, {"run": "r"})
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["model_0003.pt"]  # complete, renamed, no temp file
    data = load_checkpoint(tmp_path / "model_0003.pt")
    assert (data["epoch"], data["agent_step"]) == (3, 300)
    for k, v in policy.state_dict().items():
        assert torch.equal(data["policy"]["state_dict"][k], v), k


def test_a_crash_after_a_signal_is_recorded_as_the_interrupt():
    with interrupt.handling((signal.SIGTERM,)):
        error, code = _failure(RuntimeError("boom"))
        assert (error, code) == ("RuntimeError: boom", 1)
        interrupt.request()
        error, code = _failure(RuntimeError("[enforce fail] unexpected pos 3648 vs 3542"))
    assert code == 130
    assert error.startswith("KeyboardInterrupt: interrupt requested (surfaced as RuntimeError: [enforce fail]")


def test_signal_names_in_the_interrupt_message():
    with interrupt.handling((signal.SIGINT,)), pytest.raises(KeyboardInterrupt, match="interrupted by SIGINT"):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs at the next bytecode boundary
            pass
    assert interrupt.reason() == "interrupted by SIGINT"


def test_a_handled_request_does_not_outlive_its_section(tmp_path):
    """Regression: a Ctrl-C handled in one section left the flag set, and every later checkpoint in the process
    (whose write ends with a check) raised KeyboardInterrupt."""
    with pytest.raises(KeyboardInterrupt), interrupt.handling((signal.SIGTERM,)):
        interrupt.request()
        with interrupt.handling((signal.SIGTERM,)):  # nested: the outer request stays visible
            assert interrupt.requested()
        interrupt.check()
    assert interrupt.requested() is False
    path = save_checkpoint(tmp_path, 1, 10, _policy(), None, {})
    assert path.name == "model_0001.pt"
