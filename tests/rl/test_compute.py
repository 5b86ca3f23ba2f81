"""Compute limit, phase profiling and the optional compute settings (bf16 autocast, torch.compile)."""

from __future__ import annotations

import copy
from functools import partial

import numpy as np
import pytest
import torch

from metta.agent.factory import make_policy
from metta.common.errors import ConfigError
from metta.env import VecEnv, load_env_config
from metta.rl import phases
from metta.rl.compute import ComputeConfig, apply_compile, autocast_factory, bf16_supported
from metta.rl.losses import PPOCoefficients, ppo_loss
from metta.rl.phases import PhaseTimer
from metta.rl.rollout import RolloutBuffer, RolloutState, collect
from metta.rl.throughput import compute_limit, forward_rate, update_rate
from metta.rl.trainer import Trainer
from metta.rl.trainer_config import AgentConfig, TrainerConfig

from .helpers import tiny_job


def test_compute_limit_is_the_harmonic_combination_of_the_two_rates():
    # 1000 steps at 1000/s forward (1 s) + 2 x 1000 steps at 500/s update (4 s) -> 1000 steps in 5 s
    assert compute_limit(1000.0, 500.0, update_epochs=2) == pytest.approx(200.0)
    assert compute_limit(1000.0, 500.0) == pytest.approx(1000.0 / 3.0)


def test_phase_timer_charges_laps_and_reports_the_rest_as_other(monkeypatch):
    clock = iter([0.0, 1.0, 1.5, 4.0, 4.5])
    monkeypatch.setattr(phases.time, "perf_counter", lambda: next(clock))
    t = PhaseTimer()  # 0.0
    t.lap("env")  # 1.0 s
    t.lap("forward")  # 0.5 s
    t.start()  # 4.0: the 2.5 s gap is not charged
    t.lap("env")  # 0.5 s
    assert t.seconds == {"env": 1.5, "forward": 0.5}
    b = t.breakdown(total_s=4.0)
    assert b["env"] == pytest.approx(0.375) and b["forward"] == pytest.approx(0.125) and b["gae"] == 0.0
    assert b["other"] == pytest.approx(0.5)


def test_network_rates_are_measured_and_the_update_trains_the_copy():
    policy = make_policy(AgentConfig(name="mlp", lstm_layers=1), 9, seed=0)
    fwd = forward_rate(policy, 8, (200, 3), torch.uint8, steps=2)
    work = copy.deepcopy(policy)
    before = [p.detach().clone() for p in work.parameters()]
    opt = torch.optim.Adam(work.parameters(), lr=1e-3)
    upd = update_rate(work, opt, segments=4, bptt=4, feature_shape=(200, 3), feature_dtype=torch.uint8, minibatches=1)
    assert all(np.isfinite(x) and x > 0 for x in (*fwd, *upd))
    assert any(not torch.equal(a, b) for a, b in zip(before, work.parameters(), strict=True))
    fresh = make_policy(policy.cfg, 9, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(policy.parameters(), fresh.parameters(), strict=True))


def _epoch(tmp_path, name: str, profiled: bool) -> tuple[dict[str, float], PhaseTimer | None]:
    trainer = Trainer(tiny_job(tmp_path / name), None, None, None, None)
    trainer.train_time = 0.0
    timer = PhaseTimer() if profiled else None
    metrics = trainer.run_epoch(timer) if timer else trainer.run_epoch()
    trainer.jsonl.close()
    return metrics, timer


def test_profiling_an_epoch_changes_nothing_and_covers_every_phase(tmp_path):
    plain, _ = _epoch(tmp_path, "a", profiled=False)
    prof, timer = _epoch(tmp_path, "b", profiled=True)
    for key in ("losses/policy_loss", "losses/value_loss", "losses/entropy", "experience/rewards"):
        assert plain[key] == prof[key], key
    assert timer is not None
    for phase in ("env", "obs_conversion", "forward", "buffer", "gae", "train_forward", "backward", "optimizer"):
        assert timer.seconds[phase] > 0, phase
    total = prof["timing/rollout_s"] + prof["timing/update_s"]
    assert sum(timer.seconds.values()) <= total * 1.01


def _rollout(name: str) -> tuple[torch.nn.Module, RolloutBuffer]:
    env = VecEnv(load_env_config("arena/basic_easy_shaped", ["game.max_steps=9"]), 1, seed=5)
    policy = make_policy(AgentConfig(name=name, lstm_layers=1), env.num_actions, seed=0)
    obs = env.reset()
    feats0 = policy.features(torch.from_numpy(obs[:1]))
    buf = RolloutBuffer.allocate(env.total_agents, 16, 8, feats0.shape[1:], feats0.dtype, 1, 128, "cpu")
    carry = RolloutState(obs=obs, state=policy.initial_state(env.total_agents))
    collect(env, policy, buf, carry, torch.Generator().manual_seed(0), "cpu")
    return policy, buf


def _loss(policy: torch.nn.Module, buf: RolloutBuffer, amp=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    feats, acts = buf.segment_view(buf.features), buf.segment_view(buf.actions)
    ctx = amp() if amp is not None else torch.autocast("cpu", enabled=False)
    with torch.no_grad(), ctx:
        logp, ent, values = policy.evaluate(feats, acts, buf.segment_state(), buf.reset_mask())
    adv = torch.linspace(-1, 1, logp.numel()).view_as(logp)
    coef = PPOCoefficients(clip_coef=0.1, vf_clip_coef=0.1, ent_coef=0.002, vf_coef=0.44)
    old_logp, old_v = buf.segment_view(buf.logprobs), buf.segment_view(buf.values)
    loss, _ = ppo_loss(logp, old_logp, ent, values, old_v, adv, old_v + adv, coef)
    return loss, logp, values


@pytest.mark.parametrize("name", ["mlp", "fast"])
def test_bf16_autocast_gives_the_float32_losses_within_tolerance(name):
    """bf16 keeps ~3 significant digits: log-probs within 0.05 nats, values within 0.05, loss within 2%."""
    policy, buf = _rollout(name)
    loss32, logp32, v32 = _loss(policy, buf)
    loss16, logp16, v16 = _loss(policy, buf, partial(torch.autocast, "cpu", dtype=torch.bfloat16))
    assert logp16.dtype == torch.float32 and v16.dtype == torch.float32  # the loss is computed in float32
    assert not torch.equal(logp16, logp32)  # bf16 really ran
    torch.testing.assert_close(logp16, logp32, atol=0.05, rtol=0)
    torch.testing.assert_close(v16, v32, atol=0.05, rtol=0)
    assert float(loss16) == pytest.approx(float(loss32), rel=0.02, abs=1e-3)


def test_float32_is_the_default_and_bf16_needs_native_support():
    assert TrainerConfig().compute == ComputeConfig(precision="fp32", compile=False)
    assert autocast_factory(ComputeConfig(), torch.device("cpu")) is None
    if bf16_supported(torch.device("cpu")):
        with autocast_factory(ComputeConfig(precision="bf16"), torch.device("cpu"))():
            assert torch.is_autocast_enabled("cpu")
    else:
        with pytest.raises(ConfigError, match="trainer.compute.precision=fp32"):
            autocast_factory(ComputeConfig(precision="bf16"), torch.device("cpu"))


def test_compile_without_a_compiler_is_a_config_error(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CXX", raising=False)
    policy = make_policy(AgentConfig(name="mlp", lstm_layers=1), 9, seed=0)
    with pytest.raises(ConfigError, match="trainer.compute.compile=false"):
        apply_compile(policy, ComputeConfig(compile=True))
    assert apply_compile(policy, ComputeConfig()) is policy


@pytest.mark.slow
def test_compiled_policy_gives_the_eager_losses_within_tolerance():
    """torch.compile reorders float32 arithmetic only: loss and log-probs within 1e-4 of eager."""
    policy, buf = _rollout("mlp")
    loss_eager, logp_eager, _ = _loss(policy, buf)
    compiled = apply_compile(copy.deepcopy(policy), ComputeConfig(compile=True))
    loss_c, logp_c, _ = _loss(compiled, buf)
    torch.testing.assert_close(logp_c, logp_eager, atol=1e-4, rtol=1e-4)
    assert float(loss_c) == pytest.approx(float(loss_eager), rel=1e-4, abs=1e-5)
    assert compiled.state_dict().keys() == policy.state_dict().keys()
