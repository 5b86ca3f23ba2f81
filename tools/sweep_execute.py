#!/usr/bin/env python3
"""Run (or resume) a hyperparameter sweep: Protein suggests, tools/train.py trains, the sim suite scores.

    ./tools/sweep_execute.py sweep_name=my_sweep                       # sweep=quick: 4 cheap CPU trials
    ./tools/sweep_execute.py sweep_name=my_sweep num_trials=0          # until Ctrl-C / SIGTERM
    ./tools/sweep_execute.py sweep_name=my_sweep sweep=full num_trials=20
    ./tools/sweep_execute.py sweep_name=my_sweep settings.sweep_server_uri=postgresql://user@db:5432/sweeps
    ./tools/sweep_execute.py sweep_name=my_sweep ++sweep_job_overrides.trainer.total_timesteps=200000

Overrides are Hydra overrides of configs/sweep_job.yaml. Results: <data_dir>/sweep/<sweep_name>/runs/<run_id>/ and
the store (settings.sweep_server_uri). Exit code 0 when done, 130 after Ctrl-C or SIGTERM, 2 for a bad config, 1 on
errors.
"""

from __future__ import annotations

import sys

import _bootstrap  # noqa: F401  (re-exec into the repo venv, put the repo on sys.path)

from metta.common.errors import ConfigError, MettaError
from metta.tools.entrypoints import default_train_command


def _setup(argv: list[str]):  # noqa: ANN202 - (job, store, train_tree)
    from metta.common.config import compose
    from metta.sweep.store import open_store
    from metta.sweep.sweep_config import check_parameter_paths, resolve_sweep_job
    from metta.sweep.trial import compose_train_tree

    job = resolve_sweep_job(compose("sweep_job", argv))
    tree = compose_train_tree(job.train_overrides())
    check_parameter_paths(job.sweep.all_configs(), tree)
    return job, open_store(job.settings.sweep_server_uri), tree


def _finish(job, store) -> None:  # noqa: ANN001
    from metta.sweep.best_params import format_report, rank_observations

    goal = job.sweep.protein_for(0)[1].goal
    obs = store.load_observations(job.sweep_name)
    print(f"\n=== sweep {job.sweep_name}: best parameters ===")
    print(format_report(rank_observations(obs, goal), len(obs), top_n=1))
    print(f"\nresults:  {job.sweep_dir}/runs/<run_id>/  (train.log, checkpoints/, eval/stats.db)")
    print(f"store:    {store.uri}")
    print(f"patch:    ./tools/get_best_params_from_sweep.py sweep_name={job.sweep_name} --top-n 5 --show-scores")


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    import signal

    from metta.common import interrupt

    signal.signal(signal.SIGTERM, interrupt.on_signal)  # stop like Ctrl-C: the running trial is recorded
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
    try:
        summary = loop.run()
    except MettaError as exc:
        print(f"sweep_execute: {exc}", file=sys.stderr)
        _finish(job, store)
        return 1
    _finish(job, store)
    return 130 if summary.stopped_reason.startswith("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
