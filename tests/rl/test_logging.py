"""metta.common.logger and metta.common.progress (owned by the trainer)."""

import io
import json
import sys
import types

import pytest

from metta.common.logger import JsonlLogger, Logger, MultiLogger, NullLogger, WandbLogger, choose_wandb_mode
from metta.common.progress import Progress, format_eta


def test_jsonl_logger_writes_rows_and_summary(tmp_path):
    lg = JsonlLogger(tmp_path / "m.jsonl")
    assert isinstance(lg, Logger) and isinstance(NullLogger(), Logger)
    MultiLogger([lg, NullLogger()]).log({"a": 1.5, "b": float("nan")}, step=10)
    lg.summary({"x": 2})
    lg.close()
    assert json.loads((tmp_path / "m.jsonl").read_text()) == {"step": 10, "a": 1.5, "b": None}
    assert json.loads((tmp_path / "summary.json").read_text()) == {"x": 2}


def test_auto_mode_uses_credentials_when_present(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    assert choose_wandb_mode("auto", {"WANDB_API_KEY": "k"}) == ("online", None)
    mode, notice = choose_wandb_mode("auto", {})
    assert mode == "offline" and "no credentials" in notice
    assert choose_wandb_mode("disabled", {}) == ("disabled", None)


def test_disabled_mode_never_imports_wandb(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # importing would fail
    lg = WandbLogger("r", mode="disabled")
    lg.log({"a": 1.0}, 1)
    lg.close()
    assert lg.mode == "disabled"
    assert lg._run is None
    assert sys.modules["wandb"] is None  # nothing imported (or replaced) the blocked module


def test_unreachable_server_falls_back_to_offline(monkeypatch):
    calls = []

    class FakeRun:
        summary: dict = {}

        def log(self, metrics, step):
            calls.append(("log", step))

        def finish(self):
            calls.append(("finish",))

    def init(mode, **kwargs):
        calls.append(("init", mode))
        if mode == "online":
            raise ConnectionError("server unreachable")
        return FakeRun()

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    monkeypatch.setenv("WANDB_API_KEY", "fake")
    notices = []
    lg = WandbLogger("r", mode="auto", notice=notices.append)
    lg.log({"a": 1.0}, 3)
    lg.close()
    assert lg.mode == "offline"
    assert calls == [("init", "online"), ("init", "offline"), ("log", 3), ("finish",)]
    assert "falling back to offline" in notices[0]


def test_progress_is_quiet_when_not_a_tty():
    out = io.StringIO()
    p = Progress(1000, stream=out, plain_interval_s=3600)
    for step in range(100, 1100, 100):
        p.update(step, step // 100, sps=50.0, reward=0.5)
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first update and the final line, nothing in between
    assert "1,000/1,000" in lines[-1] and "reward 0.500" in lines[-1] and "\r" not in out.getvalue()


def test_progress_redraws_on_a_tty():
    out = io.StringIO()
    p = Progress(1000, stream=out, interactive=True)
    p.update(500, 1, sps=100.0, reward=None)
    assert out.getvalue().startswith("\r") and "eta 0m05s" in out.getvalue() and "reward -" in out.getvalue()


@pytest.mark.parametrize("s, text", [(5, "0m05s"), (3725, "1h02m"), (float("inf"), "?")])
def test_format_eta(s, text):
    assert format_eta(s) == text


def test_real_wandb_offline_run_writes_locally(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    lg = WandbLogger("offline_test", mode="offline", project="metta-test", dir=tmp_path)
    lg.log({"overview/reward": 0.25}, step=5)
    lg.summary({"agent_steps": 5})
    lg.close()
    assert list(tmp_path.glob("wandb/offline-run-*"))
