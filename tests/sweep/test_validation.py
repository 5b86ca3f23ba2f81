"""Seed validation of sweep winners: candidate selection from a real SQLite store, the launch arguments, resume/skip,
failures (never scores), Ctrl-C, the durable JSON-lines log, the statistics report, and the tool."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats as sps

from metta.common.config import REPO_ROOT
from metta.common.errors import ConfigError, EvaluationError, SweepError
from metta.sweep.dispatch import LocalDispatcher, TrainOutcome
from metta.sweep.store import open_store
from metta.sweep.trial import EvalOutcome, trial_seed
from metta.sweep.validation import (
    BASELINE,
    Candidate,
    ResultLog,
    RunResult,
    ValidationConfig,
    ValidationRunner,
    build_report,
    check_candidate_keys,
    explicit_candidate,
    format_report,
    plan_runs,
    select_candidates,
    stats,
    train_args,
)

from .conftest import fake_trainer  # noqa: F401  (fixture)

TOOL = REPO_ROOT / "tools" / "validate_sweep.py"
LR_GOOD, LR_BAD = 0.001, 0.01


def _store_with_sweep(tmp_path: Path, name: str = "v"):
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    store.register_sweep(name, {"metric": "reward", "goal": "maximize", "sim_name": "sweep_eval"})
    lr = lambda x: {"trainer": {"optimizer": {"learning_rate": x}}}  # noqa: E731
    store.record_observation(name, f"{name}.r.0", lr(LR_BAD), 0.5, 10.0, False)
    store.record_observation(name, f"{name}.r.1", lr(LR_GOOD), 0.9, 10.0, False)
    store.record_observation(name, f"{name}.r.2", lr(0.1), None, 1.0, True, "training crashed")
    store.record_observation(name, f"{name}.r.3", lr(LR_GOOD), 0.7, 10.0, False)  # same point again
    return store


def _cfg(tmp_path: Path, seeds=(1, 2), name: str = "v", **kw) -> ValidationConfig:
    base = {
        "sim_name": "sweep_eval",
        "metric": "reward",
        "goal": "maximize",
        "train_overrides": {"trainer": {"total_timesteps": 1000}},
    }
    return ValidationConfig(
        sweep_name=name, data_dir=str(tmp_path), sweep_dir=str(tmp_path / "sweep" / name), seeds=seeds, **{**base, **kw}
    )


class SeedEvaluator:
    """Reads the fake trainer's args: score = fake score + 0.01*seed; checks the seed reached the trainer."""

    def __init__(self, seed: int, calls: list[int], mode: str = "ok") -> None:
        self.seed, self.calls, self.mode = seed, calls, mode

    def evaluate(self, run_dir: Path, timeout_s: float) -> EvalOutcome:
        self.calls.append(self.seed)
        data = json.loads((run_dir / "fake_score.json").read_text())
        assert data["args"]["system.seed"] == str(self.seed) and data["args"]["system.torch_deterministic"] == "true"
        if self.mode == "error":
            raise EvaluationError("evaluation failed: simulated")
        if self.mode == "nan":
            return EvalOutcome(float("nan"), 0.01)
        return EvalOutcome(float(data["score"]) + 0.01 * self.seed, 0.01)


def _runner(cfg, trainer, calls, mode="ok", env=None) -> ValidationRunner:
    return ValidationRunner(
        cfg,
        LocalDispatcher(trainer, progress_interval=60, env=env),
        lambda seed: SeedEvaluator(seed, calls, mode),
        log=lambda s: None,
    )


def test_select_candidates_baseline_first_distinct_successes(tmp_path: Path) -> None:
    store = _store_with_sweep(tmp_path)
    c = select_candidates(store, "v", "maximize", 3)
    assert [x.config_id for x in c] == [BASELINE, "v.r.1", "v.r.0"]  # r.3 repeats r.1's point; r.2 failed
    assert c[0].suggestion == {} and c[1].sweep_score == 0.9
    assert [x.config_id for x in select_candidates(store, "v", "minimize", 1)] == [BASELINE, "v.r.0"]


def test_select_candidates_by_posterior_skips_the_lucky_run_and_scores_repeats_by_their_mean(tmp_path: Path) -> None:
    """The luckiest single run (x = 0.95, between two poor neighbours) tops the observed ranking; the posterior
    ranking validates what the sweep recommends, the good region, with its repeats averaged (their scatter, 0.9
    against 1.1, tells the model how noisy one run is)."""
    from metta.sweep.optim import ProteinConfig

    store = open_store(tmp_path / "p.db")
    store.register_sweep("p", {"metric": "score", "goal": "maximize"})
    runs = [(0.1, 0.36), (0.3, 0.84), (0.45, 0.97), (0.5, 0.9), (0.5, 1.1), (0.55, 0.99), (0.7, 0.83)]
    runs += [(0.9, 0.35), (0.95, 1.1), (1.0, 0.1)]
    for n, (x, score) in enumerate(runs):
        store.record_observation("p", f"p.r.{n}", {"x": x}, score, 10.0, False)
    config = ProteinConfig(metric="score", goal="maximize", parameters={"x": {"min": 0.0, "max": 1.0}})
    observed = select_candidates(store, "p", "maximize", 2)
    assert [c.config_id for c in observed] == [BASELINE, "p.r.4", "p.r.8"]  # a tie at 1.1: the older run first
    posterior = select_candidates(store, "p", "maximize", 2, config)
    assert [c.config_id for c in posterior] == [BASELINE, "p.r.3", "p.r.5"]
    assert posterior[1].sweep_score == pytest.approx(1.0)  # the mean of its two runs, not the best one


def test_plan_and_train_args_seed_last(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, extra_overrides=("trainer.num_envs=2",))
    cands = [Candidate(BASELINE, {}), Candidate("v.r.1", {"trainer": {"optimizer": {"learning_rate": 0.001}}})]
    runs = plan_runs(cfg, cands)
    assert [(r.candidate.config_id, r.seed, r.run_id) for r in runs] == [
        (BASELINE, 1, "v.v.base.s1"),
        ("v.r.1", 1, "v.v.r1.s1"),
        (BASELINE, 2, "v.v.base.s2"),
        ("v.r.1", 2, "v.v.r1.s2"),
    ]
    assert runs[1].run_dir == tmp_path / "sweep" / "v" / "validation" / "runs" / "v.v.r1.s1"
    args = train_args(cfg, runs[1])
    assert args[:3] == ("run=v.v.r1.s1", f"data_dir={tmp_path}", f"run_dir={runs[1].run_dir}")
    assert args[3:] == (
        "++trainer.total_timesteps=1000",
        "++trainer.optimizer.learning_rate=0.001",
        "++trainer.num_envs=2",
        "++system.seed=1",
        "++system.torch_deterministic=true",
    )
    assert "learning_rate" not in " ".join(train_args(cfg, runs[0]))
    with pytest.raises(SweepError, match="distinct"):
        _cfg(tmp_path, seeds=(1, 1))


def test_explicit_candidate_parses_typed_values_and_names_every_bad_spec() -> None:
    c = explicit_candidate("lr1e-3:trainer.optimizer.learning_rate=1e-3, trainer.update_epochs=2,trainer.x.flag=true")
    assert c.config_id == "lr1e-3" and c.sweep_score is None
    assert c.suggestion == {"trainer": {"optimizer": {"learning_rate": 0.001}, "update_epochs": 2, "x": {"flag": True}}}
    assert isinstance(c.suggestion["trainer"]["update_epochs"], int)
    assert explicit_candidate("a.b-c_d:agent.name=mlp").suggestion == {"agent": {"name": "mlp"}}
    for bad, says in [
        ("trainer.ppo.gamma=0.99", "write NAME:key=value"),  # no name
        ("baseline:trainer.ppo.gamma=0.99", "not 'baseline'"),
        ("r3:trainer.ppo.gamma=0.99", "r<digits>"),  # would collide with the run tags of sweep trials
        ("1lr:trainer.ppo.gamma=0.99", "a letter then"),
        ("g:trainer.ppo.gamma", "'trainer.ppo.gamma' is not a new key=value pair"),
        ("g:trainer.ppo.gamma=0.9,trainer.ppo.gamma=0.99", "not a new key=value pair"),
        ("g:", "not a new key=value pair"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            explicit_candidate(bad)


def test_check_candidate_keys_names_the_unknown_key_and_a_near_miss() -> None:
    tree = {"trainer": {"optimizer": {"learning_rate": 4.57e-4}, "ppo": {"gamma": 0.977}}}
    check_candidate_keys([explicit_candidate("ok:trainer.ppo.gamma=0.99")], tree)
    with pytest.raises(ConfigError, match=re.escape("did you mean ['trainer.optimizer.learning_rate']")):
        check_candidate_keys([explicit_candidate("lr:trainer.optimizer.learnin_rate=1e-3")], tree)
    with pytest.raises(ConfigError, match=r"--config g: 'trainer.gamma' does not exist.*\['trainer.ppo.gamma'\]"):
        check_candidate_keys([explicit_candidate("g:trainer.gamma=0.99")], tree)


def test_tool_validates_hand_written_configs_without_a_sweep(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    """``--top-n 0 --config``: no sweep in the store is needed; the baseline and each config run with every seed
    and their overrides reach the trainer; bad specs stop before anything runs (nothing written)."""
    cmd = "settings.train_command=[" + ",".join(fake_trainer) + "]"
    base = ["sweep_name=probe", f"data_dir={tmp_path}", cmd, "--top-n", "0", "--seeds", "4,5"]
    r = _tool(*base, "--config", "lr:trainer.optimizer.learning_rate=2e-3", "--json", env={"FAKE_TRAIN_MODE": "crash"})
    assert r.returncode == 1, r.stderr  # the fake trainer crashed every run: recorded as failures, not scores
    data = json.loads(r.stdout)
    assert [(c["config_id"], c["n"], c["n_failed"]) for c in data["configs"]] == [(BASELINE, 0, 2), ("lr", 0, 2)]
    runs = tmp_path / "sweep" / "probe" / "validation" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [
        "probe.v.base.s4",
        "probe.v.base.s5",
        "probe.v.lr.s4",
        "probe.v.lr.s5",
    ]
    assert (
        "++trainer.optimizer.learning_rate=0.002 ++system.seed=5" in (runs / "probe.v.lr.s5" / "train.log").read_text()
    )
    assert "learning_rate" not in (runs / "probe.v.base.s5" / "train.log").read_text()
    fresh = tmp_path / "fresh"
    for spec, says in [
        ("lr:trainer.optimizer.learnin_rate=1e-3", "did you mean ['trainer.optimizer.learning_rate']"),
        ("s:system.seed=3", "system.seed is set by the validation"),
        ("w:wandb.mode=online", "is a sweep_job key"),
    ]:
        bad = _tool("sweep_name=probe", f"data_dir={fresh}", "--top-n", "0", "--config", spec, "--dry-run")
        assert bad.returncode == 2 and says in bad.stderr, bad.stderr
    twice = ["--config", "a:trainer.ppo.gamma=0.9", "--config", "a:trainer.ppo.gamma=0.99"]
    assert "must be distinct" in _tool("sweep_name=probe", f"data_dir={fresh}", "--top-n", "0", *twice).stderr
    assert _tool("sweep_name=probe", f"data_dir={fresh}", "--top-n", "0").returncode == 2  # nothing to validate
    with_plan = _tool(
        "sweep_name=probe", f"data_dir={fresh}", "--plan", "seed000", "--config", "a:trainer.ppo.gamma=0.9"
    )
    assert with_plan.returncode == 2 and "cannot be combined with --plan" in with_plan.stderr
    assert not fresh.exists()
    # beside a sweep's winners: baseline, the sweep's best, then the hand-written one
    _store_with_sweep(tmp_path).close()
    dry = _tool(
        "sweep_name=v",
        f"data_dir={tmp_path}",
        "--top-n",
        "1",
        "--seeds",
        "7",
        "--config",
        "g:trainer.ppo.gamma=0.99",
        "--dry-run",
    )
    assert dry.returncode == 0, dry.stderr
    assert "3 planned runs (3 configurations x 1 seeds)" in dry.stdout
    assert [ln.split(":")[0].strip() for ln in dry.stdout.splitlines()[1:]] == [
        "[to run] v.v.base.s7",
        "[to run] v.v.r1.s7",
        "[to run] v.v.g.s7",
    ]


def test_run_resume_skip_and_stats(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    store = _store_with_sweep(tmp_path)
    cfg = _cfg(tmp_path, seeds=(1, 2, 3))
    cands = select_candidates(store, "v", "maximize", 1)
    calls: list[int] = []
    done = _runner(cfg, fake_trainer, calls).run(plan_runs(cfg, cands))
    assert [(r.config_id, r.seed, r.status) for r in done] == [
        (BASELINE, 1, "success"),
        ("v.r.1", 1, "success"),
        (BASELINE, 2, "success"),
        ("v.r.1", 2, "success"),
        (BASELINE, 3, "success"),
        ("v.r.1", 3, "success"),
    ]
    # fake score = -(log10(lr)+3)^2: lr 0.001 (baseline default and r.1) -> 0, plus 0.01*seed
    assert [r.score for r in done[:2]] == [pytest.approx(0.01), pytest.approx(0.01)]
    assert all(r.train_wall_s > 0 for r in done)
    lines = cfg.results_path.read_text().splitlines()
    assert len(lines) == 6 and json.loads(lines[0])["run_id"] == "v.v.base.s1"
    # resume: nothing left to do, the trainer is not called again
    assert _runner(cfg, fake_trainer, calls).run(plan_runs(cfg, cands)) == [] and len(calls) == 6
    # one more seed: only its two runs
    cfg4 = _cfg(tmp_path, seeds=(1, 2, 3, 4))
    more = _runner(cfg4, fake_trainer, calls).run(plan_runs(cfg4, cands))
    assert [(r.config_id, r.seed) for r in more] == [(BASELINE, 4), ("v.r.1", 4)]
    rep = build_report(cfg4, cands, ResultLog(cfg4.results_path).load())
    assert [(r.config_id, r.n, r.n_failed) for r in rep] == [(BASELINE, 4, 0), ("v.r.1", 4, 0)]
    assert rep[0].mean == pytest.approx(0.025) and rep[1].delta == pytest.approx(0.0, abs=1e-12)
    assert rep[1].verdict == "not distinguishable" and rep[1].p == pytest.approx(1.0)
    # a different budget is a different protocol: nothing is skipped and old results are not counted
    cfg_other = _cfg(tmp_path, seeds=(1, 2), extra_overrides=("trainer.num_envs=2",))
    assert build_report(cfg_other, cands, ResultLog(cfg.results_path).load())[0].n == 0


def test_failures_recorded_with_reason_skipped_then_retried(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    cfg = _cfg(tmp_path, seeds=(1, 2))
    cands = [Candidate(BASELINE, {})]
    calls: list[int] = []
    out = _runner(cfg, fake_trainer, calls, env={"FAKE_TRAIN_MODE": "crash"}).run(plan_runs(cfg, cands))
    assert [r.status for r in out] == ["failed", "failed"] and all(r.score is None for r in out)
    assert "training crashed (exit code 3)" in out[0].reason and "train.log" in out[0].reason
    assert calls == []  # nothing evaluated
    # a failure is done: re-running skips it ...
    assert _runner(cfg, fake_trainer, calls).run(plan_runs(cfg, cands)) == []
    rep = build_report(cfg, cands, ResultLog(cfg.results_path).load())[0]
    assert (rep.n, rep.n_failed) == (0, 2) and math.isnan(rep.mean) and "seed 1: training crashed" in rep.failures[0]
    # ... unless asked; the failed attempt's directory is kept aside, never resumed from
    again = _runner(cfg, fake_trainer, calls).run(plan_runs(cfg, cands), retry_failed=True)
    assert [r.status for r in again] == ["success", "success"]
    runs_dir = cfg.results_path.parent / "runs"
    assert len(list(runs_dir.glob("v.v.base.s1.attempt-*"))) == 1
    rep = build_report(cfg, cands, ResultLog(cfg.results_path).load())[0]
    assert (rep.n, rep.n_failed) == (2, 0)


@pytest.mark.parametrize(("mode", "reason"), [("error", "evaluation failed: simulated"), ("nan", "NaN score")])
def test_evaluation_failures_never_become_scores(
    tmp_path: Path,
    fake_trainer: list[str],  # noqa: F811  (the conftest fixture)
    mode: str,
    reason: str,
) -> None:
    cfg = _cfg(tmp_path, seeds=(5, 6))
    (r, _) = _runner(cfg, fake_trainer, [], mode=mode).run(plan_runs(cfg, [Candidate(BASELINE, {})]))
    assert r.status == "failed" and r.score is None and reason in r.reason
    stored = json.loads(cfg.results_path.read_text().splitlines()[0])
    assert stored["score"] is None and stored["status"] == "failed"


def test_missing_checkpoint_is_a_failure(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    cfg = _cfg(tmp_path, seeds=(1, 2))
    (r, _) = _runner(cfg, fake_trainer, [], env={"FAKE_TRAIN_MODE": "nocheckpoint"}).run(
        plan_runs(cfg, [Candidate(BASELINE, {})])
    )
    assert r.status == "failed" and "missing checkpoint" in r.reason


class InterruptingDispatcher:
    def __init__(self) -> None:
        self.calls = 0

    def train(self, request, progress=None) -> TrainOutcome:
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        (request.run_dir / "checkpoints").mkdir(parents=True)
        (request.run_dir / "checkpoints" / "model_0001.pt").write_bytes(b"x")
        args = dict(a.lstrip("+").split("=", 1) for a in request.args)
        (request.run_dir / "fake_score.json").write_text(json.dumps({"score": 1.0, "args": args}))
        return TrainOutcome(True, "", 0.5, 0)


def test_ctrl_c_records_interrupted_and_resume_reruns_it(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, seeds=(1, 2))
    cands = [Candidate(BASELINE, {})]
    disp = InterruptingDispatcher()
    runner = ValidationRunner(cfg, disp, lambda s: SeedEvaluator(s, []), log=lambda s: None)
    with pytest.raises(KeyboardInterrupt):
        runner.run(plan_runs(cfg, cands))
    stored = ResultLog(cfg.results_path).load()
    assert [(r.seed, r.status) for r in stored] == [(1, "success"), (2, "interrupted")]
    again = runner.run(plan_runs(cfg, cands))
    assert [(r.seed, r.status) for r in again] == [(2, "success")] and disp.calls == 3
    rep = build_report(cfg, cands, ResultLog(cfg.results_path).load())[0]
    assert rep.n == 2 and rep.seeds_pending == 0


def _result(cid: str, seed: int, score: float | None, cfg: ValidationConfig, sugg=None) -> RunResult:
    return RunResult(
        cid,
        seed,
        f"x.{cid}.{seed}",
        "success" if score is not None else "failed",
        score,
        "" if score is not None else "boom",
        sugg or {},
        cfg.protocol(),
    )


def test_report_statistics_match_scipy(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, seeds=(1, 2, 3, 4, 5))
    good, bad = {"a": 1}, {"a": 2}
    cands = [Candidate(BASELINE, {}), Candidate("v.r.1", good, 0.9), Candidate("v.r.2", bad, 0.8)]
    base = [1.0, 1.2, 0.9, 1.1, 1.0]
    better = [2.0, 2.1, 1.9, 2.2, 2.0]
    worse = [0.1, 0.3, 0.2, None, 0.0]
    results = [_result(BASELINE, s, x, cfg) for s, x in zip(cfg.seeds, base, strict=True)]
    results += [_result("v.r.1", s, x, cfg, good) for s, x in zip(cfg.seeds, better, strict=True)]
    results += [_result("v.r.2", s, x, cfg, bad) for s, x in zip(cfg.seeds, worse, strict=True)]
    rep = build_report(cfg, cands, results)
    assert [r.verdict for r in rep] == ["", "better", "worse"]
    assert rep[1].p == pytest.approx(float(sps.ttest_ind(better, base, equal_var=False).pvalue))
    assert rep[1].delta == pytest.approx(sum(better) / 5 - sum(base) / 5)
    assert (rep[2].n, rep[2].n_failed) == (4, 1)
    lo, hi = sorted([rep[1].p, rep[2].p])  # Holm with m = 2: smaller p x 2, larger p x 1, kept monotone
    assert sorted([rep[1].p_holm, rep[2].p_holm]) == pytest.approx([2 * lo, max(2 * lo, hi)])
    assert rep[1].ci_low <= rep[1].mean <= rep[1].ci_high
    # minimize: the same numbers flip the verdicts
    cfg_min = _cfg(tmp_path, seeds=cfg.seeds, goal="minimize")
    results_min = [RunResult(**{**r.__dict__, "protocol": cfg_min.protocol()}) for r in results]
    assert [r.verdict for r in build_report(cfg_min, cands, results_min)] == ["", "worse", "better"]
    text = format_report(cfg, rep)
    assert "better" in text and "worse" in text and "1 failed" not in text and "failed seed 4: boom" in text
    assert json.dumps([r.to_dict() for r in rep])  # NaN-free JSON
    sd = stats.pooled_std(better, base)
    assert rep[1].detectable == pytest.approx(stats.min_detectable_difference(sd, 5, 5))
    assert "resolve differences" not in text  # only said when the verdict is "not distinguishable"


def test_report_says_how_many_seeds_an_undecided_difference_needs(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, seeds=(1, 2, 3, 4, 5))
    cands = [Candidate(BASELINE, {}), Candidate("v.r.1", {"a": 1}, 0.33)]
    base = [0.25, 0.31, 0.29, 0.33, 0.27]
    close = [0.30, 0.27, 0.35, 0.31, 0.32]  # +0.02 with std ~0.03: not distinguishable with 5 seeds
    results = [_result(BASELINE, s, x, cfg) for s, x in zip(cfg.seeds, base, strict=True)]
    results += [_result("v.r.1", s, x, cfg, {"a": 1}) for s, x in zip(cfg.seeds, close, strict=True)]
    rep = build_report(cfg, cands, results)[1]
    assert rep.verdict == "not distinguishable"
    sd = stats.pooled_std(close, base)
    assert rep.detectable == pytest.approx(stats.min_detectable_difference(sd, 5, 5)) and rep.detectable > 0.05
    assert rep.seeds_for_delta == stats.seeds_needed(rep.delta, sd) and rep.seeds_for_delta > 5
    text = format_report(cfg, [build_report(cfg, cands, results)[0], rep])
    assert f"resolve differences of {rep.detectable:.4g} or more" in text
    assert f"needs ~{rep.seeds_for_delta} seeds per configuration" in text


def test_result_log_torn_last_line_and_corrupt_middle(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    log = ResultLog(cfg.results_path, log=lambda s: None)
    log.append(_result(BASELINE, 1, 1.0, cfg))
    with open(cfg.results_path, "a") as f:
        f.write('{"config_id": "baseline", "se')  # crash mid-write
    assert [r.seed for r in log.load()] == [1]
    log.append(_result(BASELINE, 2, 2.0, cfg))  # starts on a fresh line; the torn one stays as it was
    lines = cfg.results_path.read_text().splitlines()
    assert len(lines) == 3 and lines[1].endswith('"se')
    with pytest.raises(SweepError, match=r"results.jsonl:2"):
        log.load()
    assert cfg.results_path.read_text().splitlines() == lines  # nothing rewritten


def _tool(*args: str, timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO_ROOT),
        env={**os.environ, **(env or {})},
    )


def test_second_runner_on_the_same_sweep_is_refused(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    import fcntl

    cfg = _cfg(tmp_path)
    lock = cfg.results_path.with_suffix(".lock")
    lock.parent.mkdir(parents=True)
    with open(lock, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        with pytest.raises(SweepError, match="another validation of this sweep is running"):
            _runner(cfg, fake_trainer, []).run(plan_runs(cfg, [Candidate(BASELINE, {})]))
    assert not cfg.results_path.exists()
    assert len(_runner(cfg, fake_trainer, []).run(plan_runs(cfg, [Candidate(BASELINE, {})]))) == 2  # lock released


def test_tool_runs_through_the_sweep_train_command_and_records_failures(
    tmp_path: Path,
    fake_trainer: list[str],  # noqa: F811  (the conftest fixture)
) -> None:
    _store_with_sweep(tmp_path).close()
    cmd = "settings.train_command=[" + ",".join(fake_trainer) + "]"
    pinned = "settings.seed_per_trial=false"  # every trial trained with system.seed (0)
    args = ["sweep_name=v", f"data_dir={tmp_path}", cmd, pinned, "--top-n", "1", "--seeds", "0,3", "--json"]
    r = _tool(*args, env={"FAKE_TRAIN_MODE": "crash"})
    assert r.returncode == 1, r.stderr  # some runs failed
    assert "warning: seed(s) 0 are seeds the sweep's candidates trained with" in r.stderr
    # with a seed per trial (the default) seed 0 is harmless, the candidate's own trial seed is not
    own = trial_seed(0, "v.r.1")
    dry = ["sweep_name=v", f"data_dir={tmp_path}", "--top-n", "1", "--dry-run", "--seeds"]
    assert "warning" not in _tool(*dry, "0,3").stdout
    assert f"warning: seed(s) {own} are seeds" in _tool(*dry, f"3,{own}").stdout
    data = json.loads(r.stdout)
    assert [(c["config_id"], c["n"], c["n_failed"]) for c in data["configs"]] == [(BASELINE, 0, 2), ("v.r.1", 0, 2)]
    assert "training crashed (exit code 3)" in data["configs"][1]["failures"][0]
    log = tmp_path / "sweep" / "v" / "validation" / "runs" / "v.v.r1.s3" / "train.log"
    assert "++system.seed=3" in log.read_text() and "learning_rate=0.001" in log.read_text()
    # --report without --seeds shows the recorded seeds
    r = _tool("sweep_name=v", f"data_dir={tmp_path}", "--top-n", "1", "--report")
    assert "seeds 0,3," in r.stdout and "failed seed 3: training crashed" in r.stdout


def test_tool_dry_run_report_json_and_bad_args(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    _store_with_sweep(tmp_path).close()
    r = _tool(
        "sweep_name=v", f"data_dir={tmp_path}", "--top-n", "2", "--seeds", "7,8", "--dry-run", "trainer.num_envs=2"
    )
    assert r.returncode == 0, r.stderr
    assert "6 planned runs (3 configurations x 2 seeds)" in r.stdout
    assert (
        "[to run] v.v.r1.s7:" in r.stdout
        and "++trainer.num_envs=2 ++system.seed=7 ++system.torch_deterministic=true" in r.stdout
    )
    by_obs = _tool(
        "sweep_name=v", f"data_dir={tmp_path}", "--top-n", "1", "--seeds", "7", "--by", "observed", "--dry-run"
    )
    assert by_obs.returncode == 0 and "[to run] v.v.r1.s7:" in by_obs.stdout  # r.1 is also the best single run
    r = _tool("sweep_name=v", f"data_dir={tmp_path}", "--top-n", "1", "--seeds", "7,8", "--report", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [c["config_id"] for c in data["configs"]] == [BASELINE, "v.r.1"]
    assert data["configs"][1]["n"] == 0 and data["configs"][1]["seeds_pending"] == 2
    assert _tool("sweep_name=v", f"data_dir={tmp_path}", "seed=3", "--dry-run").returncode == 2
    system_seed = _tool("sweep_name=v", f"data_dir={tmp_path}", "system.seed=3", "--dry-run")
    assert system_seed.returncode == 2 and "system.seed is set by the validation" in system_seed.stderr
    bad = _tool("sweep_name=v", f"data_dir={tmp_path}", "--seeds", "1,1", "--dry-run")
    assert bad.returncode == 2 and "distinct" in bad.stderr
    assert _tool("sweep_name=nope", f"data_dir={tmp_path}", "--dry-run").returncode == 1


@pytest.mark.slow
def test_real_validation_end_to_end(tmp_path: Path) -> None:
    """Real tools/train.py runs (tiny budget) and real metta.sim.evaluate: 1 configuration + baseline x 2 seeds."""
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    store.register_sweep("e2e", {"metric": "avg_category_score", "goal": "maximize", "sim_name": "sweep_eval"})
    store.record_observation("e2e", "e2e.r.0", {"trainer": {"optimizer": {"learning_rate": 0.002}}}, 0.1, 5.0, False)
    store.close()
    budget = [
        "++sweep_job_overrides.trainer.total_timesteps=3072",
        "++sweep_job_overrides.trainer.num_envs=2",
        "++sweep_job_overrides.trainer.batch_size=3072",
        "++sweep_job_overrides.trainer.minibatch_size=1536",
    ]
    r = _tool(
        "sweep_name=e2e", f"data_dir={tmp_path}", "--top-n", "1", "--seeds", "1,2", "--json", *budget, timeout=900
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    data = json.loads(r.stdout)
    base, cand = data["configs"]
    assert (base["config_id"], cand["config_id"]) == (BASELINE, "e2e.r.0")
    assert base["n"] == 2 and cand["n"] == 2 and cand["n_failed"] == 0
    assert cand["verdict"] in ("better", "worse", "not distinguishable") and cand["p"] is not None
    run_dir = tmp_path / "sweep" / "e2e" / "validation" / "runs" / "e2e.v.r0.s2"
    cfg = json.loads((run_dir / "config.json").read_text())
    text = json.dumps(cfg)
    assert '"seed": 2' in text and "0.002" in text  # the seed and the suggestion reached the trainer
    assert (run_dir / "eval" / "stats.db").exists()
    # resume: nothing re-runs
    r2 = _tool("sweep_name=e2e", f"data_dir={tmp_path}", "--top-n", "1", "--seeds", "1,2", *budget)
    assert r2.returncode == 0 and "4 of 4 runs done, 0 to run" in r2.stdout, r2.stdout + r2.stderr


class BrokenDispatcher:
    def train(self, request, progress=None) -> TrainOutcome:
        raise OSError("disk full")


def test_unexpected_error_is_recorded_as_failure_and_raised(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    runner = ValidationRunner(cfg, BrokenDispatcher(), lambda s: SeedEvaluator(s, []), log=lambda s: None)
    with pytest.raises(OSError, match="disk full"):
        runner.run(plan_runs(cfg, [Candidate(BASELINE, {})]))
    (r,) = ResultLog(cfg.results_path).load()
    assert (r.seed, r.status, r.score) == (1, "failed", None) and "disk full" in r.reason


def test_tool_sigint_stops_training_records_interrupted_exit_130(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    import os
    import signal
    import time

    _store_with_sweep(tmp_path).close()
    cmd = "settings.train_command=[" + ",".join(fake_trainer) + "]"
    proc = subprocess.Popen(
        [sys.executable, str(TOOL), "sweep_name=v", f"data_dir={tmp_path}", cmd, "--top-n", "1", "--seeds", "1,2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(REPO_ROOT),
        env={**os.environ, "FAKE_TRAIN_SLEEP": "120"},
    )
    log = tmp_path / "sweep" / "v" / "validation" / "runs" / "v.v.base.s1" / "train.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "fake training" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted (Ctrl-C)" in err
    (r,) = ResultLog(tmp_path / "sweep" / "v" / "validation" / "results.jsonl").load()
    assert (r.run_id, r.status, r.score) == ("v.v.base.s1", "interrupted", None)
    from .test_loop import _processes_running

    assert not _processes_running(fake_trainer[1])  # the training subprocess was stopped, not orphaned
