#!/usr/bin/env python3
"""Convert W&B sweep files to our sweep configs and back.

    ./tools/wandb_sweep.py convert in.yaml [-o configs/sweep/mine.yaml]  # W&B -> ours (then sweep=mine)
    ./tools/wandb_sweep.py export quick [-o out.yaml]          # ours (configs/sweep/<name>.yaml or a path) -> W&B

To run a W&B file directly (program/command, run_cap, metric.target): ./tools/sweep_execute.py sweep_name=x
wandb_sweep=in.yaml. Exit 0 ok, 2 on a bad file (the message names the key and the fix).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (re-exec into the repo .venv, put the repo on sys.path)
import yaml

from metta.common.config import CONFIGS_DIR
from metta.common.errors import MettaError


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def convert(src: str, out: str | None) -> None:
    from metta.sweep.wandb_format.job import load_wandb_file

    wb = load_wandb_file(src)
    for note in wb.notes:
        print(note, file=sys.stderr)
    head = [f"# Converted from the W&B sweep {src} by ./tools/wandb_sweep.py convert."]
    for key, value in wb.extras().items():
        head.append(f"# wandb {key}: {value}")
    if wb.extras():
        head.append("# (these W&B keys apply when the file runs with ./tools/sweep_execute.py wandb_sweep=...)")
    _write("\n".join(head) + "\n" + yaml.safe_dump(wb.sweep, sort_keys=False), out)


def export(name: str, out: str | None) -> None:
    from metta.sweep.wandb_format.reader import export_wandb_sweep

    path = Path(name)
    if not path.exists():
        path = CONFIGS_DIR / "sweep" / f"{name.removesuffix('.yaml')}.yaml"
    if not path.exists():
        raise MettaError(f"no sweep config {name!r} (looked for the file and configs/sweep/{name}.yaml)")
    doc, notes = export_wandb_sweep(yaml.safe_load(path.read_text()), name=path.stem)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    _write(yaml.safe_dump(doc, sort_keys=False), out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="wandb_sweep.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help="W&B sweep YAML -> our sweep config")
    c.add_argument("src")
    c.add_argument("-o", "--output")
    e = sub.add_parser("export", help="our sweep config -> W&B sweep YAML")
    e.add_argument("sweep")
    e.add_argument("-o", "--output")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "convert":
            convert(args.src, args.output)
        else:
            export(args.sweep, args.output)
    except MettaError as exc:
        print(f"wandb_sweep: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
