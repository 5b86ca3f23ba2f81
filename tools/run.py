#!/usr/bin/env python3
"""Run a recipe: ``./tools/run.py <module.function> [--args k=v ...] [--overrides a.b.c=v ...] [--dry-run]``.

Example: ``./tools/run.py experiments.recipes.arena_basic_easy_shaped.train --args run=validation_seed_42
--overrides system.seed=42 system.torch_deterministic=true``. See docs/recipes.md.
"""

import sys

import _bootstrap  # noqa: F401  (re-exec into the repo .venv, put the repo on sys.path)

from metta.tools.runner import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
