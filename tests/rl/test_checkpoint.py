import json

import pytest
import torch

from metta.agent.factory import make_policy
from metta.common.errors import CheckpointError
from metta.rl.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    load_latest_good,
    load_policy,
    prune_checkpoints,
    save_checkpoint,
)
from metta.rl.trainer import make_optimizer
from metta.rl.trainer_config import AgentConfig, TrainJobConfig
from tests.rl.helpers import tiny_job


def _policy(seed=0):
    torch.manual_seed(seed)
    return make_policy(AgentConfig(name="mlp", lstm_layers=1), 19)


def test_save_load_round_trip(tmp_path):
    policy = _policy()
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    path = save_checkpoint(tmp_path, 7, 1234, policy, opt, {"run": "r"}, {"note": "x"})
    assert path == tmp_path / "model_0007.pt"
    assert [p.name for p in tmp_path.iterdir()] == ["model_0007.pt"]  # no temp file left behind
    data = load_checkpoint(path)
    assert (data["epoch"], data["agent_step"]) == (7, 1234)
    assert (data["config"], data["metadata"]) == ({"run": "r"}, {"note": "x"})
    assert data["code_version"]
    loaded, meta = load_policy(f"file://{tmp_path}")
    assert meta["epoch"] == 7 and meta["agent_step"] == 1234 and meta["path"] == str(path)
    for (k, a), (_, b) in zip(policy.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert loaded.num_actions == 19 and loaded.obs_shape == (200, 3)


def test_latest_is_highest_epoch_not_directory_order(tmp_path):
    policy = _policy()
    for epoch in (9, 10, 2, 100):
        save_checkpoint(tmp_path, epoch, epoch * 10, policy, None, {})
    (tmp_path / "policy_0500.pt").write_bytes(b"not ours")
    assert latest_checkpoint(tmp_path).name == "model_0100.pt"
    assert [p.name for p in prune_checkpoints(tmp_path, 2)] == ["model_0002.pt", "model_0009.pt"]
    assert sorted(p.name for p in tmp_path.glob("model_*.pt")) == ["model_0010.pt", "model_0100.pt"]


def test_corrupt_checkpoint_names_the_file_and_resume_falls_back(tmp_path):
    policy = _policy()
    save_checkpoint(tmp_path, 1, 10, policy, None, {})
    good = save_checkpoint(tmp_path, 2, 20, policy, None, {})
    bad = checkpoint_path(tmp_path, 3)
    bad.write_bytes(good.read_bytes()[:200])  # truncated
    with pytest.raises(CheckpointError, match="model_0003.pt is corrupt or truncated"):
        load_checkpoint(bad)
    warnings = []
    data = load_latest_good(tmp_path, warn=warnings.append)
    assert data["epoch"] == 2 and data["path"] == str(good)
    assert len(warnings) == 1 and "model_0003.pt" in warnings[0]
    assert bad.exists()  # nothing is deleted


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_policy(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="no model_NNNN.pt checkpoint"):
        latest_checkpoint(tmp_path)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "model_0001.pt")
    with pytest.raises(CheckpointError, match="is not a metta.checkpoint/1 file"):
        load_checkpoint(tmp_path / "model_0001.pt")


def test_checkpoint_from_hydra_config_loads_with_python_config(tmp_path):
    job = tiny_job(tmp_path)  # composed through Hydra
    policy = _policy()
    path = save_checkpoint(tmp_path / "ck", 1, 5, policy, make_optimizer(policy, job), job.to_dict())
    stored = load_checkpoint(path)["config"]
    json.dumps(stored)  # plain data
    rebuilt = TrainJobConfig.from_dict(stored)
    assert rebuilt == job
    # and a Python-built config (no Hydra) is stored the same way
    py_job = TrainJobConfig(run="py", run_dir=str(tmp_path / "py"), policy_uri="file://x", env=job.env)
    path2 = save_checkpoint(tmp_path / "ck2", 1, 5, policy, None, py_job.to_dict())
    assert TrainJobConfig.from_dict(load_checkpoint(path2)["config"]) == py_job
