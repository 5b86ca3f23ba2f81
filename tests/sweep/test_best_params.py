"""Best-params ranking and the Hydra patch round trip: the written patch composes into train_job and applies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metta.common.config import CONFIGS_DIR, REPO_ROOT, compose
from metta.sweep.best_params import rank_observations
from metta.sweep.store import Observation, open_store

TOOL = REPO_ROOT / "tools" / "get_best_params_from_sweep.py"


def _obs(obj: float | None, cost: float, seq: int, fail: bool = False) -> Observation:
    return Observation("s", f"s.r.{seq}", {"x": seq}, obj, cost, fail, "boom" if fail else "", 0.0, seq)


def test_rank_maximize_minimize_and_ties() -> None:
    obs = [_obs(1.0, 5, 1), _obs(3.0, 9, 2), _obs(None, 1, 3, fail=True), _obs(3.0, 2, 4), _obs(-1.0, 1, 5)]
    assert [o.seq for o in rank_observations(obs, "maximize")] == [4, 2, 1, 5]  # tie on 3.0: cheaper first
    assert [o.seq for o in rank_observations(obs, "minimize")] == [5, 1, 4, 2]
    assert rank_observations([_obs(None, 1, 1, fail=True)]) == []


def test_patch_round_trip_through_train_job(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS_DIR, configs, ignore=shutil.ignore_patterns("*_best.yaml"))
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    store.register_sweep("pr", {"goal": "maximize", "metric": "avg_category_score"})
    best = {
        "trainer": {
            "optimizer": {"learning_rate": 0.00123456789},
            "ppo": {"ent_coef": 0.0042, "clip_coef": 0.2},
            "batch_size": 8192,
        }
    }
    store.record_observation("pr", "pr.r.0", {"trainer": {"optimizer": {"learning_rate": 0.1}}}, 0.1, 3.0, False)
    store.record_observation("pr", "pr.r.1", best, 0.9, 5.0, False)
    store.record_observation("pr", "pr.r.2", {"trainer": {"optimizer": {"learning_rate": 0.5}}}, None, 1.0, True, "x")
    out_dir = configs / "trainer" / "patch"
    r = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "sweep_name=pr",
            f"data_dir={tmp_path}",
            "--top-n",
            "5",
            "--show-scores",
            "--output-dir",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "2 successful of 3 observations" in r.stdout and "#1 pr.r.1  score=0.9" in r.stdout
    assert "#2 pr.r.0  score=0.1" in r.stdout
    patch = out_dir / "pr_best.yaml"
    assert patch.read_text().startswith("# @package _global_")
    for hw in ("cpu", "gpu"):
        cfg = compose("train_job", ["run=production", f"hardware={hw}", "+trainer/patch=pr_best"], config_dir=configs)
        assert cfg.trainer.optimizer.learning_rate == pytest.approx(0.00123456789, rel=1e-12)
        assert cfg.trainer.ppo.ent_coef == pytest.approx(0.0042) and cfg.trainer.ppo.clip_coef == pytest.approx(0.2)
        assert cfg.trainer.batch_size == 8192  # the patch wins over the hardware profile
        assert cfg.trainer.ppo.gamma == pytest.approx(0.977)  # untouched values keep their defaults


def test_no_patch_and_unknown_sweep(tmp_path: Path) -> None:
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    store.register_sweep("np")
    store.record_observation("np", "np.r.0", {"trainer": {"bptt_horizon": 32}}, 1.0, 1.0, False)
    out = tmp_path / "patches"
    r = subprocess.run(
        [sys.executable, str(TOOL), "sweep_name=np", f"data_dir={tmp_path}", "--no-patch", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "bptt_horizon: 32" in r.stdout and not out.exists()
    r = subprocess.run(
        [sys.executable, str(TOOL), "sweep_name=missing", f"data_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "not found" in r.stderr


def test_edge_warnings_name_parameters_at_a_bound() -> None:
    from metta.sweep import ParameterConfig, ProteinConfig
    from metta.sweep.best_params import edge_warnings

    config = ProteinConfig(
        metric="score",
        parameters={
            "trainer": {
                "lr": ParameterConfig(distribution="log_normal", min=1e-4, max=1e-2),
                "ent": ParameterConfig(distribution="log_normal", min=1e-4, max=3e-2),
                "epochs": ParameterConfig(distribution="int_uniform", min=1, max=8),
                "act": ParameterConfig(distribution="categorical", values=("relu", "tanh")),
            }
        },
    )

    def warned(lr: float, ent: float, epochs: int) -> list[str]:
        got = edge_warnings({"trainer": {"lr": lr, "ent": ent, "epochs": epochs, "act": "tanh"}}, config)
        return [w.split(" = ")[0].removeprefix("warning: ") for w in got]

    assert warned(2e-3, 2e-3, 4) == []  # inside: nothing to say
    assert warned(1e-2, 2e-3, 4) == ["trainer.lr"]  # at the upper bound (the quick sweep's lr 1e-2 pick)
    assert warned(8e-3, 2e-3, 4) == ["trainer.lr"]  # within 5% of the log range of it
    assert warned(7e-3, 1.1e-4, 8) == ["trainer.ent", "trainer.epochs"]  # lower bound; an integer at its max
    text = edge_warnings({"trainer": {"lr": 1e-2, "ent": 2e-3, "epochs": 4, "act": "relu"}}, config)[0]
    assert "upper bound (0.01)" in text and "widen the range" in text


def test_tool_warns_when_the_winner_sits_at_a_bound(tmp_path: Path) -> None:
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    store.register_sweep("edge", {"goal": "maximize", "metric": "avg_category_score"})
    runs = [(5e-3, 2e-3, 0.42), (4.6e-4, 2.1e-3, 0.30), (1e-3, 5e-3, 0.33), (2e-4, 1e-3, 0.21), (3e-3, 1e-2, 0.36)]
    for i, (lr, ent, score) in enumerate(runs):
        sugg = {"trainer": {"optimizer": {"learning_rate": lr}, "ppo": {"ent_coef": ent}}}
        store.record_observation("edge", f"edge.r.{i}", sugg, score, 20.0, False)
    args = [sys.executable, str(TOOL), "sweep_name=edge", "sweep=quick", f"data_dir={tmp_path}", "--no-patch"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "#1 edge.r.0" in r.stdout  # the posterior still ranks the lr 5e-3 run first ...
    warnings = [line for line in r.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "learning_rate = 0.005 is at the upper bound (0.005)" in warnings[0]  # and says so


def test_tool_ranks_in_the_space_the_sweep_registered_not_the_default_group(tmp_path: Path) -> None:
    # a quick_clip sweep (learning rate x clip_coef) queried with sweep_name= alone: the composed default group
    # (quick: learning rate x entropy) would not fit its trials; the stored config does, so the posterior ranks them
    from metta.sweep.sweep_config import resolve_sweep_job

    clip = resolve_sweep_job(compose("sweep_job", ["sweep_name=c", "sweep=quick_clip", f"data_dir={tmp_path}"]))
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    meta = {"goal": "maximize", "metric": "avg_category_score", "config": clip.sweep.protein_for(0)[1].to_dict()}
    store.register_sweep("c", meta)
    runs = [(1.5e-3, 0.28, 0.45), (4.6e-4, 0.10, 0.30), (1e-3, 0.25, 0.47), (2e-4, 0.06, 0.21), (3e-3, 0.12, 0.33)]
    for i, (lr, clip_coef, score) in enumerate(runs):
        sugg = {"trainer": {"optimizer": {"learning_rate": lr}, "ppo": {"clip_coef": clip_coef}}}
        store.record_observation("c", f"c.r.{i}", sugg, score, 20.0, False)
    args = [sys.executable, str(TOOL), "sweep_name=c", f"data_dir={tmp_path}", "--no-patch", "--top-n", "2"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "search space changed" not in r.stderr and "ranked by GP posterior mean" in r.stdout
    assert "#1 c.r.2" in r.stdout and "clip_coef: 0.25" in r.stdout
