#!/usr/bin/env python3
"""Run (or resume) a hyperparameter sweep: Protein suggests, tools/train.py trains, the sim suite scores.

    ./tools/sweep_execute.py sweep_name=my_sweep                       # sweep=quick: 8 CPU trials (mlp, ~400k steps)
    ./tools/sweep_execute.py sweep_name=my_sweep num_trials=0          # until Ctrl-C / SIGTERM
    ./tools/sweep_execute.py sweep_name=my_sweep sweep=full num_trials=20
    ./tools/sweep_execute.py sweep_name=my_sweep settings.sweep_server_uri=postgresql://user@db:5432/sweeps
    ./tools/sweep_execute.py sweep_name=my_sweep ++sweep_job_overrides.trainer.total_timesteps=200000
    ./tools/sweep_execute.py sweep_name=my_sweep wandb_sweep=path/to/wandb_sweep.yaml [--workers 3]

Overrides are Hydra overrides of configs/sweep_job.yaml. Results: <data_dir>/sweep/<sweep_name>/runs/<run_id>/ and
the store (settings.sweep_server_uri). Exit code 0 when done, 130 after Ctrl-C or SIGTERM, 2 for a bad config, 1 on
errors.
"""

from __future__ import annotations

import sys

import _bootstrap  # noqa: F401  (re-exec into the repo venv, put the repo on sys.path)

from metta.common.errors import ConfigError, MettaError
from metta.tools.entrypoints import default_train_command


def _setup(argv: list[str]):  # (job, store, train_tree
    from metta.common.config import compose
    from metta.sweep.store import open_store
    from metta.sweep.sweep_config import check_parameter_paths, resolve_sweep_job
    from metta.sweep.trial import compose_train_tree

    job = resolve_sweep_job(compose("sweep_job", argv))
    tree = compose_train_tree(job.train_overrides())
    check_parameter_paths(job.sweep.all_configs(), tree)
    return job, open_store(job.settings.sweep_server_uri), tree


def _finish(job, store) -> None:
    from metta.sweep.best_params import (
        edge_warnings,
        format_posterior,
        format_report,
        format_uncertainty,
        rank_observations,
        rank_posterior,
    )

    config = job.sweep.protein_for(0)[1]
    obs = store.load_observations(job.sweep_name)
    print(f"\n=== sweep {job.sweep_name}: best parameters ===")
    try:
        post = rank_posterior(obs, config)
    except MettaError as exc:
        print(f"(posterior ranking unavailable: {exc})")
        post = []
    if post:
        print(format_posterior(post, top_n=1))
        print(format_uncertainty(post[0][1], len(obs)))
        for line in edge_warnings(post[0][0].suggestion, config):
            print(line)
    else:
        print(format_report(rank_observations(obs, config.goal), len(obs), top_n=1))
    print(f"\nresults:  {job.sweep_dir}/runs/<run_id>/  (train.log, checkpoints/, eval/stats.db)")
    print(f"store:    {store.uri}")
    print(f"patch:    ./tools/get_best_params_from_sweep.py sweep_name={job.sweep_name} --top-n 5 --show-scores")
    print(
        f"validate: ./tools/validate_sweep.py sweep_name={job.sweep_name} data_dir={job.data_dir} --top-n 3 "
        "--num-seeds 5   (re-trains the winners and the baseline with fresh seeds; Welch test + criteria)"
    )


def _wandb_main(argv: list[str], path: str) -> int:
    """Run a W&B sweep file (program/command, run_cap, target) on our loop and store."""
    from pathlib import Path

    from metta.common.config import compose, to_container
    from metta.sweep.program import NoEvaluator, ProgramSweepLoop, program_dispatcher
    from metta.sweep.store import open_store
    from metta.sweep.wandb_format.job import load_wandb_file, resolve_program, wandb_sweep_job
    from metta.tools.entrypoints import TRAIN_SCRIPT

    try:
        wb = load_wandb_file(path)
        for note in wb.notes:
            print(note, file=sys.stderr)
        given = any(a.lstrip("+").startswith("num_trials=") for a in argv)
        job = wandb_sweep_job(to_container(compose("sweep_job", argv)), wb, given)
        program = resolve_program(wb.program, Path(path), TRAIN_SCRIPT)
        if program is None and wb.command is None:
            program = str(TRAIN_SCRIPT)
        store = open_store(job.settings.sweep_server_uri)
    except MettaError as exc:
        print(f"sweep_execute: configuration error: {exc}", file=sys.stderr)
        return 2
    extra: list[str] = []
    if program == str(TRAIN_SCRIPT):  # our trainer also needs its run name, folders and the sweep's overrides
        from metta.common.overrides import to_overrides

        extra = ["run={run_id}", "data_dir={data_dir}", "run_dir={run_dir}", *to_overrides(job.train_overrides())]
        if job.settings.seed_per_trial:
            extra.append("++system.seed={seed}")
    loop = ProgramSweepLoop(
        job,
        store,
        program_dispatcher(),
        NoEvaluator(),
        {"batch_size": 1, "minibatch_size": 1, "bptt_horizon": 1},
        wandb_sweep=wb,
        program=program,
        extra_args=extra,
    )
    return _run_loop(loop, job, store)


def _run_loop(loop, job, store) -> int:  # a SweepLoop or ProgramSweepLoop, its job and store
    """Run the loop, then print the best parameters; exit 0, 1 on a sweep error, 130 when interrupted."""
    try:
        summary = loop.run()
    except MettaError as exc:
        print(f"sweep_execute: {exc}", file=sys.stderr)
        _finish(job, store)
        return 1
    _finish(job, store)
    return 130 if summary.stopped_reason.startswith("interrupted") else 0


def _spawn_workers(argv: list[str], n: int) -> int:
    """Start ``n`` workers of this command on one sweep and wait for all (exit code: the worst one)."""
    import subprocess

    procs = [subprocess.Popen([sys.executable, __file__, *argv]) for _ in range(n)]
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        codes = [p.wait() for p in procs]  # each worker got the Ctrl-C too and records its trial
    return max(codes, key=lambda c: (c != 0, c))


def _pop_workers(argv: list[str]) -> tuple[list[str], int]:
    args, n, i = [], 1, 0
    while i < len(argv):
        a = argv[i]
        if a == "--workers" and i + 1 < len(argv):
            n, i = int(argv[i + 1]), i + 2
            continue
        if a.startswith("--workers="):
            n = int(a.split("=", 1)[1])
        else:
            args.append(a)
        i += 1
    return args, n


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    argv, workers = _pop_workers(argv)
    if workers > 1:
        return _spawn_workers(argv, workers)
    import signal

    from metta.common import interrupt

    signal.signal(signal.SIGTERM, interrupt.on_signal)  # stop like Ctrl-C: the running trial is recorded
    wandb_file = [a.split("=", 1)[1] for a in argv if a.startswith("wandb_sweep=")]
    if wandb_file:
        return _wandb_main([a for a in argv if not a.startswith("wandb_sweep=")], wandb_file[-1])
    from metta.sweep.dispatch import LocalDispatcher
    from metta.sweep.loop import SweepLoop
    from metta.sweep.store.wandb_mirror import make_mirror
    from metta.sweep.trial import SimEvaluator

    try:
        job, store, tree = _setup(argv)
    except (ConfigError, MettaError) as exc:
        print(f"sweep_execute: configuration error: {exc}", file=sys.stderr)
        return 2
    metric = job.sweep.protein_for(0)[1].metric
    loop = SweepLoop(
        job,
        store,
        LocalDispatcher(job.settings.train_command or default_train_command()),
        SimEvaluator(job.sim_name, metric),
        tree["trainer"],
        mirror=make_mirror(job),
    )
    return _run_loop(loop, job, store)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
