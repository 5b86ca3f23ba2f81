"""Pure table builders: the runs table (one record per observation), the best runs and the validation table."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from metta.sweep.dashboard.model import RunRow
from metta.sweep.dashboard.validation_view import ValidationView


def short_name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def runs_table(rows: Sequence[RunRow], names: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(records, columns) of every row, newest first; parameter columns use the last path component."""
    cols = [
        ("trial", "trial"),
        ("run_id", "run id"),
        ("status", "status"),
        ("score", "score"),
        ("cost_s", "cost (s)"),
        ("phase", "phase"),
    ]
    cols += [(n, short_name(n)) for n in names]
    cols += [("worker", "worker"), ("reason", "failure reason"), ("seq", "seq")]
    records = []
    for r in reversed(rows):
        rec: dict[str, Any] = {
            "trial": r.trial,
            "run_id": r.run_id or "(rejected)",
            "status": "failed" if r.is_failure else "success",
            "score": None if r.score is None else round(r.score, 6),
            "cost_s": round(r.cost, 2),
            "phase": r.phase,
            "worker": r.worker,
            "reason": r.reason,
            "seq": r.seq,
        }
        for n in names:
            v = r.params.get(n)
            rec[n] = (
                float(f"{v:.6g}")
                if isinstance(v, float)
                else v
                if isinstance(v, (int, str, bool))
                else (None if v is None else str(v))
            )
        records.append(rec)
    return records, [{"id": c, "name": label} for c, label in cols]


def best_runs(rows: Sequence[RunRow], maximize: bool = True, n: int = 5) -> list[RunRow]:
    """The ``n`` best successful rows (ties: cheaper, then older)."""
    sign = -1.0 if maximize else 1.0
    ok = sorted((r for r in rows if r.ok), key=lambda r: (sign * float(r.score), r.cost, r.seq))  # type: ignore
    return ok[:n]


def _g(v: float | None, spec: str = ".4g") -> str:
    return "-" if v is None or not math.isfinite(v) else format(v, spec)


def _mark(passed: bool | None) -> str:
    return "PASS" if passed is True else "FAIL" if passed is False else "pending"


def validation_table(view: ValidationView) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(records, columns): per configuration n, mean, 95% CI, per-seed scores, verdict and each criterion."""
    crit_names: list[str] = []
    for c in view.configs:
        crit_names.extend(k.name for k in c.criteria if k.name not in crit_names)
    cols = (
        [
            ("config", "configuration"),
            ("sweep_score", "sweep score"),
            ("n", "n ok"),
            ("failed", "failed"),
            ("pending", "pending"),
            ("mean", "mean"),
            ("ci", "95% CI"),
            ("seeds", "scores per seed"),
            ("verdict", "Welch vs baseline"),
        ]
        + [(k, k) for k in crit_names]
        + [("overall", "overall")]
    )
    records = []
    for c in view.configs:
        seeds = "; ".join(
            f"{s.seed}: {_g(s.score)}" if s.score is not None else f"{s.seed}: {s.status}" for s in c.seeds
        )
        rec: dict[str, Any] = {
            "config": c.config_id,
            "sweep_score": _g(c.sweep_score),
            "n": c.n,
            "failed": c.n_failed,
            "pending": c.pending,
            "mean": _g(c.mean),
            "ci": f"[{_g(c.ci_low)}, {_g(c.ci_high)}]",
            "seeds": seeds,
            "verdict": "(reference)" if c.is_baseline else (c.verdict or "-"),
            "overall": "(reference)" if c.is_baseline else _mark(c.passed),
        }
        for k in c.criteria:
            rec[k.name] = f"{_mark(k.passed)}: {k.detail}"
        records.append(rec)
    return records, [{"id": c, "name": label} for c, label in cols]


def runs_csv(records: Sequence[dict[str, Any]], columns: Sequence[dict[str, str]]) -> str:
    """CSV text of the runs table (header: column names)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c["name"] for c in columns])
    for rec in records:
        w.writerow(["" if rec.get(c["id"]) is None else rec.get(c["id"]) for c in columns])
    return buf.getvalue()
