#!/usr/bin/env python3
"""Compare two config trees field by field (Hydra YAML at any git ref, Pydantic recipes, dumps).

See ``./tools/config_diff.py --help`` and docs/config_diff.md. Exit 0: no difference at or above --fail-on;
1: some; 2: usage error.
"""

import sys

import _bootstrap  # noqa: F401  (re-exec into the repo .venv, put the repo on sys.path)

from metta.config_diff.cli import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
