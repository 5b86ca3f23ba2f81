#!/usr/bin/env python3
"""Ray Tune with Protein: minimise the Branin function with ``ProteinSearcher`` and with Ray's default random
search (``BasicVariantGenerator``), same trial budget, same seeds, on a local Ray.

    pip install -e '.[ray]'
    python experiments/ray_tune_example.py                       # 20 trials x seeds 0,1,2, 2 trials at a time
    python experiments/ray_tune_example.py --samples 30 --seeds 0 1 2 3 4 --concurrency 4

Branin's minimum is 0.397887 (at three points). Prints, per seed, the best value each searcher found, then the
medians; the last line is JSON. On a real cluster, call ``ray.init(address="auto")`` instead of a local Ray and put
the training function of your choice in place of ``branin_trainable``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
from typing import Any

BRANIN_MIN = 0.397887


def branin(x1: float, x2: float) -> float:
    """The Branin-Hoo function on x1 in [-5, 10], x2 in [0, 15]; global minimum 0.397887."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def branin_config(num_random_samples: int = 5) -> dict[str, Any]:
    """The Protein search problem: both Branin inputs, uniform, minimised."""
    return {
        "metric": "branin",
        "goal": "minimize",
        "method": "bayes",
        "protein": {"num_random_samples": num_random_samples},
        "parameters": {
            "x1": {"distribution": "uniform", "min": -5.0, "max": 10.0},
            "x2": {"distribution": "uniform", "min": 0.0, "max": 15.0},
        },
    }


def branin_trainable(config: dict[str, Any]) -> dict[str, float]:
    """A Tune function trainable: one evaluation, reported as the final result."""
    return {"branin": branin(float(config["x1"]), float(config["x2"]))}


def run_branin(searcher: str, seed: int, samples: int = 20, concurrency: int = 2) -> list[float]:
    """Run one Tune experiment (``searcher`` = "protein" or "random"); returns the Branin values of its trials."""
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    from metta.sweep.integrations.ray_tune import ProteinSearcher

    if searcher == "protein":
        alg: Any = ProteinSearcher(branin_config(), seed=seed)
        space: dict[str, Any] = {}
    elif searcher == "random":
        alg = BasicVariantGenerator(random_state=seed)
        space = {"x1": tune.uniform(-5.0, 10.0), "x2": tune.uniform(0.0, 15.0)}
    else:
        raise ValueError(f"searcher={searcher!r}; use 'protein' or 'random'")
    with tempfile.TemporaryDirectory() as storage:
        tuner = tune.Tuner(
            branin_trainable,
            param_space=space,
            tune_config=tune.TuneConfig(
                metric="branin",
                mode="min",
                search_alg=alg,
                num_samples=samples,
                max_concurrent_trials=concurrency,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(storage_path=storage, name=f"branin_{searcher}_{seed}", verbose=0),
        )
        grid = tuner.fit()
        values = [float(r.metrics["branin"]) for r in grid if r.error is None and "branin" in (r.metrics or {})]
    if len(values) != samples:
        raise RuntimeError(f"{searcher} seed {seed}: {samples - len(values)} of {samples} trials failed")
    return values


def compare(seeds: list[int], samples: int = 20, concurrency: int = 2) -> dict[str, Any]:
    """Best Branin value per seed for both searchers, and their medians (Ray must already be initialised)."""
    best: dict[str, list[float]] = {"protein": [], "random": []}
    for seed in seeds:
        for name in best:
            best[name].append(min(run_branin(name, seed, samples, concurrency)))
    return {
        "seeds": seeds,
        "samples": samples,
        "concurrency": concurrency,
        "best": best,
        "median": {k: statistics.median(v) for k, v in best.items()},
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=20, help="trials per experiment")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--concurrency", type=int, default=2, help="trials running at once")
    a = p.parse_args(argv)
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    import ray

    ray.init(num_cpus=max(a.concurrency, 1), include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        out = compare(a.seeds, a.samples, a.concurrency)
    finally:
        ray.shutdown()
    for i, seed in enumerate(out["seeds"]):
        print(f"seed {seed}: best protein={out['best']['protein'][i]:.4f} random={out['best']['random'][i]:.4f}")
    print(
        f"median best over {len(out['seeds'])} seeds: protein={out['median']['protein']:.4f} "
        f"random={out['median']['random']:.4f} (optimum {BRANIN_MIN})"
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
