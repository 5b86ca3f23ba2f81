"""Policy URIs: newest checkpoint by epoch, plain paths, run dirs, missing files, W&B without credentials."""

from __future__ import annotations

import pytest

from metta.agent.checkpoint import resolve_policy_uri
from metta.common.errors import CheckpointError, EvaluationError


@pytest.fixture
def run_dir(tmp_path):
    ck = tmp_path / "run" / "checkpoints"
    ck.mkdir(parents=True)
    # created in an order where the first directory entry is not the newest
    # (a plain directory listing would pick the wrong one)
    for epoch in (100, 9, 10):
        (ck / f"model_{epoch:04d}.pt").write_bytes(b"x")
    (ck / "model_0100.pt.tmp").write_bytes(b"partial")
    (ck / "trainer_state.pt").write_bytes(b"x")
    return tmp_path / "run"


def test_directory_uri_takes_highest_epoch(run_dir):
    ref = resolve_policy_uri(f"file://{run_dir}/checkpoints")
    assert ref.path.name == "model_0100.pt" and ref.policy_version == 100
    assert ref.policy_key == f"file://{(run_dir / 'checkpoints').resolve()}"
    # a run directory and a plain path work too
    assert resolve_policy_uri(f"file://{run_dir}").path == ref.path
    assert resolve_policy_uri(str(run_dir / "checkpoints")).path == ref.path


def test_file_uri(run_dir):
    ref = resolve_policy_uri(f"file://{run_dir}/checkpoints/model_0009.pt")
    assert ref.path.name == "model_0009.pt" and ref.policy_version == 9
    assert ref.policy_key == resolve_policy_uri(f"file://{run_dir}/checkpoints").policy_key


def test_missing_and_empty(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        resolve_policy_uri(f"file://{tmp_path}/nope.pt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no model_NNNN.pt checkpoint"):
        resolve_policy_uri(f"file://{tmp_path}/empty")
    with pytest.raises(EvaluationError, match="unsupported policy URI scheme"):
        resolve_policy_uri("s3://bucket/model.pt")


def test_wandb_without_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    with pytest.raises(EvaluationError, match="no W&B credentials.*file://"):
        resolve_policy_uri("wandb://run/my_run")
    with pytest.raises(EvaluationError, match="wandb://run/<run name>"):
        resolve_policy_uri("wandb://project/x")
