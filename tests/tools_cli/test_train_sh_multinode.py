"""devops/train.sh multi-node: two local "nodes" of one CPU rank each, joined through torchrun's rendezvous on
loopback from SkyPilot's node variables, train exactly like two standalone ranks on one node."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from metta.common.net import free_loopback_port
from tests.rl.helpers import TINY

REPO = Path(__file__).resolve().parents[2]
TRAIN_SH = REPO / "devops" / "train.sh"
SKY_VARS = ("SKYPILOT_NODE_IPS", "SKYPILOT_NODE_RANK", "SKYPILOT_NUM_GPUS_PER_NODE", "SKYPILOT_NUM_NODES")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SKY_VARS and k not in ("NPROC", "MASTER_PORT")}
    return {**env, "METTA_NO_REEXEC": "1", "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1", **extra}


def _args(tmp_path: Path, run: str) -> list[str]:
    budget = [a for a in TINY if not a.startswith("trainer.total_timesteps")]
    return [str(TRAIN_SH), f"run={run}", f"data_dir={tmp_path}", *budget, "trainer.total_timesteps=1536"]


def _losses(run_dir: Path) -> list[dict[str, float]]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k.startswith("losses/")} for r in rows]


@pytest.mark.slow
def test_two_loopback_nodes_equal_two_standalone_ranks(tmp_path: Path) -> None:
    # The standalone pair and the two "nodes" run at the same time (the same CPU work, less waiting on startup).
    solo = subprocess.Popen(
        _args(tmp_path, "solo"),
        cwd=tmp_path,
        env=_env(NPROC="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for attempt in range(2):  # a free port can be taken by another process before torchrun binds it; retry once
        port = str(free_loopback_port())
        nodes = [
            subprocess.Popen(
                _args(tmp_path, "multi"),
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(
                    SKYPILOT_NODE_IPS="127.0.0.1\n127.0.0.1\n",
                    SKYPILOT_NODE_RANK=str(r),
                    SKYPILOT_NUM_GPUS_PER_NODE="0",
                    MASTER_PORT=port,
                ),
            )
            for r in (0, 1)
        ]
        outs = [p.communicate(timeout=400) for p in nodes]
        if all(p.returncode == 0 for p in nodes) or attempt:
            break
    for p, (_, err) in zip(nodes, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    assert "node 0 of 2, 1 processes per node, master 127.0.0.1" in outs[0][1]
    assert "node 1 of 2" in outs[1][1]
    _, solo_err = solo.communicate(timeout=400)
    assert solo.returncode == 0, solo_err[-3000:]
    assert "torchrun --nproc_per_node=2" in solo_err

    multi = json.loads((tmp_path / "multi" / "train_result.json").read_text())
    assert (multi["status"], multi["epochs"], multi["agent_steps"]) == ("success", 1, 1536)  # 2 ranks x 768, one epoch
    cfg = json.loads((tmp_path / "multi" / "config.json").read_text())
    assert cfg["effective"]["world_size"] == 2
    solo_losses, multi_losses = _losses(tmp_path / "solo"), _losses(tmp_path / "multi")
    assert len(multi_losses) == 1 and len(multi_losses[0]) >= 3
    assert multi_losses == solo_losses  # same ranks, seeds and averaged gradients: bit-identical losses


def test_node_rank_outside_the_node_list_is_refused(tmp_path: Path) -> None:
    r = subprocess.run(
        _args(tmp_path, "bad"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(SKYPILOT_NODE_IPS="10.0.0.1\n10.0.0.2", SKYPILOT_NODE_RANK="2", SKYPILOT_NUM_GPUS_PER_NODE="1"),
    )
    assert r.returncode == 2 and "SKYPILOT_NODE_RANK='2' must be in [0, 2)" in r.stderr
