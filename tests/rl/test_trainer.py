import json

import pytest
import torch

from metta.common.errors import TrainingError
from metta.rl import ppo as ppo_module
from metta.rl.checkpoint import list_checkpoints, load_checkpoint
from metta.rl.trainer import train
from tests.rl.helpers import tiny_job


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_tiny_run_writes_checkpoints_metrics_and_reaches_schedule_ends(tmp_path):
    job = tiny_job(tmp_path, extra=["trainer.total_timesteps=1536"])
    res = train(job)
    run_dir = tmp_path / "tiny"
    assert res.agent_steps == 1536 and res.epochs == 2
    assert [e for e, _ in list_checkpoints(run_dir / "checkpoints")] == [0, 1, 2]
    assert res.final_checkpoint == str(run_dir / "checkpoints" / "model_0002.pt")
    rows = _metrics(run_dir)
    assert [r["step"] for r in rows] == [768, 1536]
    last = rows[-1]
    # the declared schedules take effect: the last update runs at progress 1
    assert last["hyperparameters/learning_rate"] == pytest.approx(0.00003)
    assert last["hyperparameters/ppo_ent_coef"] == pytest.approx(0.0)
    assert rows[0]["hyperparameters/learning_rate"] > last["hyperparameters/learning_rate"]
    assert last["overview/sps"] > 0 and "losses/policy_loss" in last
    assert any("env_agent/action.move.success" in r for r in rows)  # per-agent-episode env stats
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["effective"]["batch_size"] == 768 and stored["hardware"] == "cpu"


def test_same_seed_gives_identical_losses_and_weights(tmp_path):
    a = train(tiny_job(tmp_path / "a"))
    b = train(tiny_job(tmp_path / "b"))
    ra, rb = _metrics(tmp_path / "a" / "tiny"), _metrics(tmp_path / "b" / "tiny")
    keys = ["losses/policy_loss", "losses/value_loss", "losses/entropy", "experience/rewards"]
    assert [[r[k] for k in keys] for r in ra] == [[r[k] for k in keys] for r in rb]
    wa = load_checkpoint(a.final_checkpoint)["policy"]["state_dict"]
    wb = load_checkpoint(b.final_checkpoint)["policy"]["state_dict"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = train(tiny_job(tmp_path / "c", extra=["seed=1"]))
    wc = load_checkpoint(c.final_checkpoint)["policy"]["state_dict"]
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_resume_continues_from_the_newest_epoch(tmp_path):
    first = train(tiny_job(tmp_path, extra=["trainer.total_timesteps=1536"]))
    assert first.epochs == 2
    second = train(tiny_job(tmp_path, extra=["trainer.total_timesteps=3072"]))
    assert (second.epochs, second.agent_steps) == (4, 3072)
    rows = _metrics(tmp_path / "tiny")
    assert [r["metric/epoch"] for r in rows] == [1, 2, 3, 4]
    assert [e for e, _ in list_checkpoints(tmp_path / "tiny" / "checkpoints")] == [0, 1, 2, 3, 4]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = ppo_module.ppo_loss

    def flaky(*args, **kwargs):
        loss, stats = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] > 2:  # epoch 1 (2 minibatches) is fine, epoch 2 blows up
            loss = loss * float("nan")
        return loss, stats

    monkeypatch.setattr(ppo_module, "ppo_loss", flaky)
    with pytest.raises(TrainingError, match="non-finite PPO loss"):
        train(tiny_job(tmp_path))
    ckpts = list_checkpoints(tmp_path / "tiny" / "checkpoints")
    assert [e for e, _ in ckpts] == [0, 1]
    data = load_checkpoint(ckpts[-1][1])
    assert all(torch.isfinite(v).all() for v in data["policy"]["state_dict"].values())


def test_in_training_evaluation_hook_gets_the_epoch_checkpoint(tmp_path):
    calls = []

    def fake_eval(checkpoint, epoch):
        calls.append((checkpoint.name, epoch, checkpoint.is_file()))
        return {"overview/avg_category_score": 0.5 * epoch}

    extra = [
        "trainer.checkpoint.checkpoint_interval=5",
        "trainer.simulation.evaluate_interval=2",
        "trainer.total_timesteps=3072",
    ]
    job = tiny_job(tmp_path, extra=extra)
    train(job, evaluate_fn=fake_eval)
    assert calls == [("model_0002.pt", 2, True), ("model_0004.pt", 4, True)]
    rows = _metrics(tmp_path / "tiny")
    assert [r.get("overview/avg_category_score") for r in rows] == [None, 1.0, None, 2.0]


def test_initial_policy_uri_starts_a_new_run_from_given_weights(tmp_path):
    first = train(tiny_job(tmp_path / "a", extra=["trainer.total_timesteps=768"]))
    job = tiny_job(
        tmp_path / "b",
        run="fine",
        extra=[
            "trainer.total_timesteps=768",
            "trainer.max_epochs=1",
            f"trainer.initial_policy_uri=file://{first.final_checkpoint}",
        ],
    )
    train(job)
    w0 = load_checkpoint(tmp_path / "b" / "fine" / "checkpoints" / "model_0000.pt")["policy"]["state_dict"]
    wa = load_checkpoint(first.final_checkpoint)["policy"]["state_dict"]
    assert all(torch.equal(w0[k], wa[k]) for k in wa)  # epoch 0 of the new run = the given weights
    bad = tiny_job(tmp_path / "c", extra=["agent=fast", f"trainer.initial_policy_uri={first.final_checkpoint}"])
    with pytest.raises(Exception, match="does not fit agent fast"):
        train(bad)


def test_infinite_gradients_stop_before_the_weights_are_touched(tmp_path, monkeypatch):
    real = ppo_module.ppo_loss
    calls = {"n": 0}

    def exploding(*args, **kwargs):
        loss, stats = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] > 2:  # adds exactly 0 to the loss, but its gradient (sqrt at 0) is not finite
            new_value = args[3]
            loss = loss + torch.sqrt((new_value - new_value.detach()).abs()).sum()
        return loss, stats

    monkeypatch.setattr(ppo_module, "ppo_loss", exploding)
    with pytest.raises(TrainingError, match="non-finite gradient norm"):
        train(tiny_job(tmp_path))
    ckpts = list_checkpoints(tmp_path / "tiny" / "checkpoints")
    assert [e for e, _ in ckpts] == [0, 1]
    data = load_checkpoint(ckpts[-1][1])
    assert all(torch.isfinite(v).all() for v in data["policy"]["state_dict"].values())


def test_fast_agent_is_deterministic_too(tmp_path):
    extra = ["agent=fast", "trainer.total_timesteps=768"]
    a = train(tiny_job(tmp_path / "a", extra=extra))
    b = train(tiny_job(tmp_path / "b", extra=extra))
    wa = load_checkpoint(a.final_checkpoint)["policy"]["state_dict"]
    wb = load_checkpoint(b.final_checkpoint)["policy"]["state_dict"]
    assert len(wa) > 20 and all(torch.equal(wa[k], wb[k]) for k in wa)
    la = [r["losses/policy_loss"] for r in _metrics(tmp_path / "a" / "tiny")]
    lb = [r["losses/policy_loss"] for r in _metrics(tmp_path / "b" / "tiny")]
    assert la == lb
