#!/usr/bin/env python3
"""Print the best configurations of a sweep and write a Hydra patch that trains with the best one.

    ./tools/get_best_params_from_sweep.py sweep_name=my_sweep
    ./tools/get_best_params_from_sweep.py sweep_name=my_sweep --top-n 5 --show-scores
    ./tools/get_best_params_from_sweep.py sweep_name=my_sweep --by observed   # the best single run instead
    ./tools/get_best_params_from_sweep.py sweep_name=my_sweep --no-patch
    ./tools/get_best_params_from_sweep.py sweep_name=my_sweep --output-dir configs/trainer/patch
    ./tools/train.py run=production +trainer/patch=my_sweep_best

``--by posterior`` (the default) picks the observed configuration with the best Gaussian-process posterior mean:
with a noisy score the best single run is usually a lucky one, and the model pools repeats and neighbours.

Other key=value arguments are Hydra overrides of configs/sweep_job.yaml (e.g. data_dir=...,
settings.sweep_server_uri=...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import _bootstrap  # noqa: F401  (re-exec into the repo venv, put the repo on sys.path)

from metta.common.config import CONFIGS_DIR
from metta.common.errors import MettaError, SweepError


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="sweep_name=<name> and other sweep_job overrides")
    p.add_argument("--top-n", type=int, default=1, help="how many configurations to print (default 1)")
    p.add_argument("--show-scores", action="store_true", help="print score and cost of every listed configuration")
    p.add_argument(
        "--by",
        choices=("posterior", "observed"),
        default="posterior",
        help="rank by GP posterior mean (default; robust to lucky runs) or by the best observed score",
    )
    p.add_argument("--no-patch", action="store_true", help="do not write the patch file")
    p.add_argument("--output-dir", default=str(CONFIGS_DIR / "trainer" / "patch"), help="where the patch goes")
    a = p.parse_args(argv)
    if a.top_n < 1:
        p.error(f"--top-n {a.top_n} must be >= 1")
    return a


def _rank_and_print(a: argparse.Namespace, config: Any, obs: list[Any], goal: str) -> list[Any]:
    """Print the ranking (posterior, or observed as the fallback) and return the ranked observations."""
    from metta.sweep.best_params import (
        edge_warnings,
        format_posterior,
        format_report,
        format_uncertainty,
        rank_observations,
        rank_posterior,
    )

    ranked = rank_observations(obs, goal)
    post = []
    if a.by == "posterior" and ranked:
        config = config.model_copy(update={"goal": goal})
        try:
            post = rank_posterior(obs, config)
        except SweepError as exc:  # trials from another search space: the model cannot place them
            print(f"warning: {exc}; ranking by observed score instead", file=sys.stderr)
    if not post:
        print(format_report(ranked, len(obs), a.top_n, a.show_scores))
        return ranked
    ranked = [o for o, _ in post]
    print(f"{len(ranked)} distinct successful configurations of {len(obs)} observations")
    print(format_posterior(post, a.top_n))
    print(format_uncertainty(post[0][1], len(obs)))
    for line in edge_warnings(ranked[0].suggestion, config):
        print(line)
    return ranked


def main(argv: list[str]) -> int:
    a = _parse(argv)
    from metta.common.config import compose
    from metta.sweep.best_params import write_patch
    from metta.sweep.store import open_store
    from metta.sweep.sweep_config import as_registered, resolve_sweep_job

    try:
        job = resolve_sweep_job(compose("sweep_job", a.overrides))
        store = open_store(job.settings.sweep_server_uri)
        info = store.get_sweep(job.sweep_name)
        if info is None:
            print(f"error: sweep {job.sweep_name!r} not found in {store.uri}", file=sys.stderr)
            return 1
        config = as_registered(job, info.meta)[0]  # the space the trials ran in, whatever sweep= says now
        goal, metric = info.meta.get("goal", config.goal), info.meta.get("metric", config.metric)
        obs = store.load_observations(job.sweep_name)
        print(f"sweep {job.sweep_name} ({metric}, {goal}) in {store.uri}")
        ranked = _rank_and_print(a, config, obs, goal)
    except MettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not ranked:
        return 1
    if not a.no_patch:
        path = write_patch(ranked[0], job.sweep_name, metric, Path(a.output_dir))
        print(f"\nwrote {path}\ntrain with it: ./tools/train.py run=<name> +trainer/patch={job.sweep_name}_best")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
