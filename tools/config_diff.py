#!/usr/bin/env python3
"""Compare two config trees field by field (Hydra YAML at any git ref, Pydantic recipes, dumps).

See ``./tools/config_diff.py --help`` and docs/config_diff.md. Exit 0: no difference at or above --fail-on;
1: some; 2: usage error.
"""

import sys
import time

_STARTED = time.perf_counter()  # the summary line's time includes importing the tool

import _bootstrap  # noqa: F401, E402  (re-exec into the repo .venv, put the repo on sys.path)

from metta.config_diff.cli import run  # noqa: E402

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], started=_STARTED))
