#!/usr/bin/env python3
"""Validate a sweep's winners across seeds: re-train the top-N configurations and the baseline with several seeds,
score them on the sweep's suite and test each against the baseline (Welch's t-test, 95% bootstrap CI).

    ./tools/validate_sweep.py sweep_name=my_sweep --dry-run                  # the planned runs
    ./tools/validate_sweep.py sweep_name=my_sweep --top-n 3 --num-seeds 10   # seeds 1..10
    ./tools/validate_sweep.py sweep_name=my_sweep --seeds 42,123,456 --json
    ./tools/validate_sweep.py sweep_name=my_sweep --report                   # statistics of what is stored
    ./tools/validate_sweep.py sweep_name=my_sweep trainer.total_timesteps=20000   # override every training run
    ./tools/validate_sweep.py sweep_name=my_sweep --plan seed000   # top 5 x 10 seeds, then top 3 of those x 20
    ./tools/validate_sweep.py sweep_name=probe sweep=quick --top-n 0 --seeds 201,202,203,204 \
        --config lr1e-3:trainer.optimizer.learning_rate=1e-3 --config ent5e-4:trainer.ppo.ent_coef=5e-4
        # hand-written configurations against the default (no sweep needed with --top-n 0)

The top-N are ranked by GP posterior mean, as ``get_best_params_from_sweep.py`` ranks them (``--by observed``: by
best single run), so the configuration the sweep recommends is the one validated; a repeated configuration's sweep
score is the mean of its runs.

Besides Welch's test each configuration is marked pass/fail on three reproducibility criteria: its validated mean
keeps >= 90% of its own sweep score, its std across seeds is < 15% of its mean, and its 95% CI does not overlap the
baseline's.

``--config NAME:key=value[,key=value...]`` (repeatable) validates a hand-written configuration beside the sweep's
winners, e.g. a value from a paper or a colleague's guess; its keys are checked against the composed trainer config
before anything runs. With ``--top-n 0`` only those are validated, and the sweep need not exist: the metric, goal
and suite then come from the sweep config (``sweep=<name>``).

Arguments ``key=value`` go to configs/sweep_job.yaml when the key belongs there (sweep_name, data_dir, settings.*,
sim_name, sweep, sweep_job_overrides.*, wandb...), otherwise to every training run (``++key=value``). Results are
appended to <data_dir>/sweep/<sweep_name>/validation/results.jsonl; re-running skips pairs already done.
Exit code: 0 done, 1 error or some runs failed, 2 bad arguments, 130 after Ctrl-C (results so far are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import _bootstrap  # noqa: F401  (re-exec into the repo venv, put the repo on sys.path)

from metta.common.errors import MettaError, SweepError
from metta.tools.entrypoints import default_train_command

SWEEP_JOB_KEYS = {
    "sweep_name",
    "data_dir",
    "sweep_dir",
    "settings",
    "sim_name",
    "sweep",
    "sweep_job_overrides",
    "num_trials",
    "wandb",
    "hydra",
}
RESERVED = {
    "seed": "use --seeds / --num-seeds",
    "torch_deterministic": "validation always sets it to true",
    "run": "run ids are <sweep>.v.<config>.s<seed>",
    "run_dir": "runs go to <sweep_dir>/validation/runs/",
    "policy_uri": "evaluation reads each run's checkpoints",
    "system.seed": "use --seeds / --num-seeds",
    "system.torch_deterministic": "validation always sets it to true",
}


def split_overrides(args: list[str]) -> tuple[list[str], list[str]]:
    """(sweep_job overrides, training overrides); raises ValueError for reserved or malformed keys."""
    job, train = [], []
    for a in args:
        if "=" not in a:
            raise ValueError(f"argument {a!r} is not key=value")
        key = a.split("=", 1)[0].lstrip("+~")
        reserved = _reserved(key)
        if reserved is not None:
            raise ValueError(f"{a!r}: {reserved} is set by the validation ({RESERVED[reserved]})")
        (job if key.split(".", 1)[0] in SWEEP_JOB_KEYS else train).append(a)
    return job, train


def _reserved(key: str) -> str | None:
    """The RESERVED entry a dotted key falls under (itself or its top-level group), or None."""
    top = key.split(".", 1)[0]
    return key if key in RESERVED else top if top in RESERVED else None


def _trial_seeds(job, candidates, overrides) -> set[int]:  # a SweepJobConfig, its Candidates, the trials' overrides
    """The training seeds the candidates' sweep trials used: each trial's derived seed (``seed_per_trial``), or the
    one seed of every trial (the legacy top-level ``seed`` wins over ``system.seed``)."""
    from metta.sweep.trial import trial_seed
    from metta.sweep.validation import BASELINE

    if len(candidates) == 1:  # the baseline only (--top-n 0): no sweep trial chose anything
        return set()
    if job.settings.seed_per_trial:
        return {trial_seed(job.seed, c.config_id) for c in candidates if c.config_id != BASELINE}
    legacy = overrides.get("seed")
    return {int(legacy if legacy is not None else (overrides.get("system") or {}).get("seed", 0))}


def parse_seeds(seeds: str | None, num_seeds: int) -> tuple[int, ...]:
    """``--seeds 1,2,3`` or seeds 1..num_seeds (seed 0 is the trainer default, which sweeps with seed_per_trial=false
    train every trial with)."""
    if seeds:
        try:
            out = tuple(int(s) for s in seeds.split(",") if s.strip())
        except ValueError as exc:
            raise ValueError(f"--seeds {seeds!r} must be comma-separated integers, e.g. 1,2,3") from exc
        if not out or len(set(out)) != len(out) or not all(0 <= s <= 2**31 - 1 for s in out):
            raise ValueError(f"--seeds {seeds!r} must be distinct integers in 0..2147483647")
        return out
    if num_seeds < 2:
        raise ValueError(f"--num-seeds {num_seeds} must be >= 2 (a t-test needs two scores per configuration)")
    return tuple(range(1, num_seeds + 1))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="sweep_name=<name>, sweep_job overrides, training overrides")
    p.add_argument("--top-n", type=int, default=3, help="configurations to validate besides the baseline (3)")
    p.add_argument(
        "--by",
        choices=("posterior", "observed"),
        default="posterior",
        help="rank the sweep's configurations by GP posterior mean (default; what get_best_params recommends) or "
        "by best single run",
    )
    p.add_argument("--seeds", help="comma-separated seeds, e.g. 42,123,456")
    p.add_argument("--num-seeds", type=int, default=10, help="seeds 1..N when --seeds is not given (10)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level of the verdict (0.05)")
    p.add_argument("--dry-run", action="store_true", help="print the planned runs and exit")
    p.add_argument("--report", action="store_true", help="print statistics of stored results, run nothing")
    p.add_argument("--retry-failed", action="store_true", help="re-run pairs whose last attempt failed")
    p.add_argument("--json", action="store_true", help="print the report as JSON (one object) on stdout")
    p.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE[,KEY=VALUE]",
        help="also validate a hand-written configuration (repeatable): lr1e-3:trainer.optimizer.learning_rate=1e-3",
    )
    p.add_argument(
        "--plan",
        choices=("seed000",),
        help="two-phase plan: top 5 x seeds 1..10, then the 3 best of those x seeds 1..20 (ignores --top-n/--seeds)",
    )
    return p


def _setup(a: argparse.Namespace):  # (cfg, candidates, job, trial seeds of the sweep's candidates)
    from metta.common.config import compose
    from metta.sweep.store import open_store
    from metta.sweep.sweep_config import as_registered, resolve_sweep_job
    from metta.sweep.validation import BASELINE, Candidate, ValidationConfig

    job_args, train_args = split_overrides(a.overrides)
    job = resolve_sweep_job(compose("sweep_job", job_args))
    explicit = _explicit_candidates(a.config, job)
    store = open_store(job.settings.sweep_server_uri)
    try:
        info = store.get_sweep(job.sweep_name)
        if info is None and a.top_n > 0:
            raise MettaError(f"sweep {job.sweep_name!r} not found in {store.uri} (check sweep_name= and data_dir=)")
        meta = info.meta if info is not None else {}
        default, train_overrides = as_registered(job, meta)  # the sweep's own space and budget, not sweep='s default
        cfg = ValidationConfig(
            sweep_name=job.sweep_name,
            data_dir=job.data_dir,
            sweep_dir=job.sweep_dir,
            sim_name=meta.get("sim_name", job.sim_name),
            metric=meta.get("metric", default.metric),
            goal=meta.get("goal", default.goal),
            seeds=parse_seeds(a.seeds, a.num_seeds),
            top_n=a.top_n,
            train_overrides=train_overrides,
            extra_overrides=tuple(train_args),
            train_timeout=job.settings.train_timeout,
            eval_timeout=job.settings.eval_timeout,
            alpha=a.alpha,
        )
        protein = default if a.by == "posterior" else None
        candidates = (
            _sweep_candidates(store, job.sweep_name, cfg, protein) if a.top_n > 0 else [Candidate(BASELINE, {})]
        )
    finally:
        store.close()
    if len(candidates) == 1 and not explicit:
        raise MettaError(f"sweep {job.sweep_name!r} has no successful observation to validate")
    clash = sorted({c.config_id for c in candidates} & {c.config_id for c in explicit})
    if clash:
        raise ValueError(f"--config name(s) {clash} are already the ids of the sweep's candidates; pick other names")
    return cfg, candidates + explicit, job, _trial_seeds(job, candidates, cfg.train_overrides)


def _sweep_candidates(store, sweep_name: str, cfg, protein) -> list:  # baseline + the sweep's top-N Candidates
    from metta.sweep.validation import select_candidates

    try:
        return select_candidates(store, sweep_name, cfg.goal, cfg.top_n, protein)
    except SweepError as exc:  # trials from another search space: the model cannot place them
        print(f"warning: {exc}; ranking by observed score instead", file=sys.stderr)
        return select_candidates(store, sweep_name, cfg.goal, cfg.top_n)


def _explicit_candidates(specs: list[str], job) -> list:  # Candidates from --config
    """Parse ``--config`` specs; their keys must be training keys (not reserved, not sweep_job keys) that exist in
    the composed trainer config."""
    from metta.common.overrides import flatten
    from metta.sweep.trial import compose_train_tree
    from metta.sweep.validation import check_candidate_keys, explicit_candidate

    out = [explicit_candidate(s) for s in specs]
    names = [c.config_id for c in out]
    if len(set(names)) != len(names):
        raise ValueError(f"--config names must be distinct, got {names}")
    for c in out:
        for key in flatten(c.suggestion):
            reserved = _reserved(key)
            if reserved is not None:
                raise ValueError(f"--config {c.config_id}: {reserved} is set by the validation ({RESERVED[reserved]})")
            if key.split(".", 1)[0] in SWEEP_JOB_KEYS:
                raise ValueError(f"--config {c.config_id}: {key!r} is a sweep_job key; give it as a plain argument")
    if out:
        check_candidate_keys(out, compose_train_tree(job.train_overrides()))
    return out


def _print_report(cfg, candidates, as_json: bool) -> int:
    from metta.sweep.validation import ResultLog, build_report, format_report

    log = (lambda s: print(s, file=sys.stderr)) if as_json else print
    reports = build_report(cfg, candidates, ResultLog(cfg.results_path, log).load())
    if as_json:
        print(
            json.dumps(
                {
                    "sweep": cfg.sweep_name,
                    "metric": cfg.metric,
                    "goal": cfg.goal,
                    "alpha": cfg.alpha,
                    "seeds": list(cfg.seeds),
                    "results": str(cfg.results_path),
                    "configs": [r.to_dict() for r in reports],
                },
                indent=2,
            )
        )
    else:
        print(format_report(cfg, reports))
        print(f"\nresults: {cfg.results_path}")
    return 1 if any(r.n_failed for r in reports) else 0


def _runner(cfg: Any, job: Any, out: TextIO) -> Any:
    """A ValidationRunner training with the sweep's command and scoring with the config's suite, logging to ``out``."""
    from metta.sweep.dispatch import LocalDispatcher
    from metta.sweep.trial import SimEvaluator
    from metta.sweep.validation import ValidationRunner

    return ValidationRunner(
        cfg,
        LocalDispatcher(job.settings.train_command or default_train_command()),
        lambda seed: SimEvaluator(cfg.sim_name, cfg.metric, seed=seed),
        log=lambda s: print(s, file=out, flush=True),
    )


def _run_plan(a: argparse.Namespace, cfg, candidates, job, out) -> int:
    """Run (or dry-run / report) the phases of a named plan in order; each phase resumes from stored results."""
    from metta.sweep.validation import ResultLog, is_done, latest_results, plan_runs
    from metta.sweep.validation.seed_plan import plan_phases, run_phases

    def execute(pcfg, cands) -> None:
        planned = plan_runs(pcfg, cands)
        print(f"== {a.plan}: {len(cands) - 1} configurations + baseline x {len(pcfg.seeds)} seeds", file=out)
        if a.dry_run:
            latest = latest_results(pcfg, ResultLog(pcfg.results_path).load())
            for r in planned:
                print(f"  [{'done' if is_done(r, latest, a.retry_failed) else 'to run'}] {r.run_id}", file=out)
        elif not a.report:
            _runner(pcfg, job, out).run(planned, retry_failed=a.retry_failed)

    try:
        phases = run_phases(plan_phases(a.plan), cfg, candidates, execute)
    except KeyboardInterrupt:
        print("validate_sweep: interrupted (Ctrl-C); finished runs are stored, re-run to resume", file=sys.stderr)
        return 130
    except MettaError as exc:
        print(f"validate_sweep: {exc}", file=sys.stderr)
        return 1
    code = 0
    for ph in phases:
        if ph.stopped:
            print(f"{ph.phase.name}: not started ({ph.stopped})", file=out)
        elif not a.dry_run:
            print(f"\n== {ph.phase.name}", file=out)
            code = max(code, _print_report(ph.cfg, list(ph.candidates), a.json))
    return code


def main(argv: list[str]) -> int:
    p = _parser()
    a = p.parse_intermixed_args(argv)
    if a.plan:
        from metta.sweep.validation.seed_plan import plan_phases

        first = plan_phases(a.plan)[0]
        a.top_n, a.seeds = first.top_n, ",".join(map(str, first.seeds))
    if a.top_n < (0 if a.config else 1):
        p.error(f"--top-n {a.top_n} must be >= 1 (or 0 with --config)")
    if a.plan and a.config:
        p.error("--config cannot be combined with --plan (the plan ranks the sweep's own configurations)")
    try:
        cfg, candidates, job, trial_seeds = _setup(a)
    except ValueError as exc:  # split/parse errors and ConfigError (a ValueError)
        print(f"validate_sweep: {exc}", file=sys.stderr)
        return 2
    except MettaError as exc:
        print(f"validate_sweep: {exc}", file=sys.stderr)
        return 1
    from metta.sweep.validation import ResultLog, plan_runs, recorded_seeds

    out = sys.stderr if a.json else sys.stdout
    if a.plan:
        return _run_plan(a, cfg, candidates, job, out)
    if a.report and not a.seeds:  # report what is stored
        seeds = recorded_seeds(cfg, ResultLog(cfg.results_path).load())
        cfg = cfg.model_copy(update={"seeds": seeds or cfg.seeds})
    clash = sorted(set(cfg.seeds) & trial_seeds)
    if clash and not a.report:
        print(
            f"warning: seed(s) {', '.join(map(str, clash))} are seeds the sweep's candidates trained with; the winners "
            "were selected on them, so those runs are biased in their favour (prefer other seeds)",
            file=out,
        )
    planned = plan_runs(cfg, candidates)
    if a.dry_run:
        return _print_dry_run(cfg, candidates, planned, a.retry_failed, out)
    if not a.report:
        code = _run_planned(cfg, candidates, job, planned, a, out)
        if code is not None:
            return code
    return _print_report(cfg, candidates, a.json)


def _print_dry_run(cfg: Any, candidates: list[Any], planned: list[Any], retry_failed: bool, out: TextIO) -> int:
    """List the planned runs, each marked done or to run, without running anything."""
    from metta.sweep.validation import ResultLog, is_done, latest_results, train_args

    latest = latest_results(cfg, ResultLog(cfg.results_path).load())
    print(f"{len(planned)} planned runs ({len(candidates)} configurations x {len(cfg.seeds)} seeds):", file=out)
    for r in planned:
        state = "done" if is_done(r, latest, retry_failed) else "to run"
        print(f"  [{state}] {r.run_id}: tools/train.py {' '.join(train_args(cfg, r)[3:])}", file=out)
    return 0


def _run_planned(
    cfg: Any, candidates: list[Any], job: Any, planned: list[Any], a: argparse.Namespace, out: TextIO
) -> int | None:
    """Run what is not done yet; an exit code when interrupted or failed, None when the report should follow."""
    try:
        _runner(cfg, job, out).run(planned, retry_failed=a.retry_failed)
    except KeyboardInterrupt:
        print("validate_sweep: interrupted (Ctrl-C); finished runs are stored, re-run to resume", file=sys.stderr)
        _print_report(cfg, candidates, a.json)
        return 130
    except MettaError as exc:
        print(f"validate_sweep: {exc}", file=sys.stderr)
        return 1
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
