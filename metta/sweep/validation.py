"""Validate sweep winners across seeds (seed 000): re-train the top-N configurations of a sweep and the baseline
(no suggestion) with several explicit seeds, score each run on the sweep's suite, and compare with the baseline.

Runs go through the sweep's own launch path: a :class:`~metta.sweep.dispatch.Dispatcher` runs ``tools/train.py``
with ``++`` overrides (the sweep's training overrides, then the suggestion, then ``++seed=<s>
++torch_deterministic=true``), and an :class:`~metta.sweep.launch.Evaluator` (``metta.sim.evaluate`` in a child
process, evaluated with the same seed) produces the score. Every result is appended to
``<sweep_dir>/validation/results.jsonl`` as one line (single ``write`` + ``fsync``), so re-running resumes and skips
(configuration, seed) pairs already done. Failures are recorded with their reason and never become scores.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metta.common.errors import SweepError
from metta.sweep.best_params import rank_observations
from metta.sweep.dispatch import Dispatcher, TrainRequest
from metta.sweep.launch import Evaluator, run_trial, to_overrides
from metta.sweep.store import SweepStore
from metta.sweep.store.base import dumps

BASELINE = "baseline"
SUCCESS, FAILED, INTERRUPTED = "success", "failed", "interrupted"
LogFn = Callable[[str], None]
EvaluatorFactory = Callable[[int], Evaluator]


class ValidationConfig(BaseModel):
    """Everything a validation run needs, typed and frozen (built by ``tools/validate_sweep.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sweep_name: str = Field(min_length=1, description="Sweep whose winners are validated.")
    data_dir: str = Field(min_length=1, description="Root of run directories (passed to tools/train.py).")
    sweep_dir: str = Field(min_length=1, description="The sweep's directory; results go to <sweep_dir>/validation/.")
    sim_name: str = Field(min_length=1, description="Evaluation suite (the sweep's sim_name).")
    metric: str = Field(min_length=1, description="Score read from the suite result (the sweep's metric).")
    goal: str = Field("maximize", pattern="^(maximize|minimize)$", description="Direction of a better score.")
    seeds: tuple[int, ...] = Field(min_length=1, description="Training (and evaluation) seeds, each 0..2^31-1.")
    top_n: int = Field(3, ge=1, le=1000, description="How many of the sweep's best configurations to validate.")
    train_overrides: dict[str, Any] = Field(default_factory=dict, description="The sweep's training overrides.")
    extra_overrides: tuple[str, ...] = Field((), description="More Hydra overrides for every training run.")
    train_timeout: float = Field(0.0, ge=0, description="Seconds before training is killed; 0 = no limit.")
    eval_timeout: float = Field(600.0, gt=0, description="Seconds before evaluation is abandoned (a failure).")
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the verdict.")

    def model_post_init(self, _ctx: Any) -> None:
        bad = [s for s in self.seeds if not 0 <= s <= 2**31 - 1]
        if bad or len(set(self.seeds)) != len(self.seeds):
            raise SweepError(f"seeds {list(self.seeds)} must be distinct integers in 0..2147483647")

    @property
    def results_path(self) -> Path:
        """The JSON-lines file of results."""
        return Path(self.sweep_dir) / "validation" / "results.jsonl"

    def protocol(self) -> str:
        """Fingerprint of what makes scores comparable (budget overrides, suite, metric); results recorded under a
        different protocol are neither skipped nor counted."""
        text = dumps({"train": self.train_overrides, "extra": list(self.extra_overrides), "sim": self.sim_name,
                      "metric": self.metric})
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Candidate:
    """A configuration to validate: ``config_id`` is the sweep run id that found it, or ``baseline``."""

    config_id: str
    suggestion: dict[str, Any]
    sweep_score: float | None = None


@dataclass(frozen=True)
class PlannedRun:
    """One (configuration, seed) training run."""

    candidate: Candidate
    seed: int
    run_id: str
    run_dir: Path


@dataclass(frozen=True)
class RunResult:
    """One stored validation result (one line of results.jsonl)."""

    config_id: str
    seed: int
    run_id: str
    status: str
    score: float | None
    reason: str
    suggestion: dict[str, Any]
    protocol: str
    train_wall_s: float = 0.0
    eval_wall_s: float = 0.0
    created_at: float = 0.0

    @property
    def suggestion_key(self) -> str:
        return dumps(self.suggestion)


def select_candidates(store: SweepStore, sweep_name: str, goal: str, top_n: int) -> list[Candidate]:
    """Baseline first, then the ``top_n`` best distinct suggestions of the sweep (via best_params ranking)."""
    ranked = rank_observations(store.load_observations(sweep_name), goal)
    out, seen = [Candidate(BASELINE, {})], {dumps({})}
    for o in ranked:
        key = dumps(o.suggestion)
        if key in seen:
            continue
        seen.add(key)
        out.append(Candidate(o.run_id or f"seq{o.seq}", dict(o.suggestion), o.objective))
        if len(out) > top_n:
            break
    return out


def plan_runs(cfg: ValidationConfig, candidates: Sequence[Candidate]) -> list[PlannedRun]:
    """Every (configuration, seed) pair, seed-major so an interrupted validation stays balanced."""
    root = Path(cfg.sweep_dir) / "validation" / "runs"
    runs = []
    for seed in cfg.seeds:
        for c in candidates:
            tag = c.config_id.rsplit(".", 1)[-1] if c.config_id.startswith(cfg.sweep_name + ".r.") else c.config_id
            tag = "base" if c.config_id == BASELINE else f"r{tag}" if tag.isdigit() else tag
            run_id = f"{cfg.sweep_name}.v.{tag}.s{seed}"
            runs.append(PlannedRun(c, seed, run_id, root / run_id))
    return runs


def train_args(cfg: ValidationConfig, run: PlannedRun) -> tuple[str, ...]:
    """tools/train.py arguments: as the sweep loop builds them, then the extra overrides, then the seed (last)."""
    extra = tuple(a if a.startswith("+") else f"++{a}" for a in cfg.extra_overrides)
    return (f"run={run.run_id}", f"data_dir={cfg.data_dir}", f"run_dir={run.run_dir}",
            *to_overrides(cfg.train_overrides), *to_overrides(run.candidate.suggestion), *extra,
            f"++seed={run.seed}", "++torch_deterministic=true")


class ResultLog:
    """Append-only JSON-lines file of :class:`RunResult` (one ``write`` + ``fsync`` per result).

    A torn last line (a crash mid-write) is ignored with a warning; a corrupt line elsewhere raises SweepError
    naming the file and line, and the file is never rewritten.
    """

    def __init__(self, path: Path, log: LogFn = print) -> None:
        self.path, self.log = Path(path), log

    def load(self) -> list[RunResult]:
        if not self.path.exists():
            return []
        lines = self.path.read_bytes().split(b"\n")
        out = []
        for i, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                d = json.loads(raw)
                out.append(RunResult(**d))
            except (ValueError, TypeError) as exc:
                if i == len(lines):  # no trailing newline: the last write was cut short
                    self.log(f"warning: ignoring incomplete last line {i} of {self.path}")
                    continue
                raise SweepError(f"{self.path}:{i} is not a validation result ({exc}); fix or remove that line "
                                 "(the other lines are intact)") from exc
        return out

    def append(self, result: RunResult) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(result), sort_keys=True, allow_nan=False) + "\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # keep a torn line on its own
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def latest_results(cfg: ValidationConfig, results: Sequence[RunResult]) -> dict[tuple[str, int], RunResult]:
    """Newest result per (config_id, seed) recorded under this protocol."""
    proto = cfg.protocol()
    out: dict[tuple[str, int], RunResult] = {}
    for r in results:
        if r.protocol == proto:
            out[(r.config_id, r.seed)] = r
    return out


def is_done(run: PlannedRun, latest: dict[tuple[str, int], RunResult], retry_failed: bool = False) -> bool:
    """A pair is done when it has a success, or a failure (unless ``retry_failed``); interrupted runs re-run."""
    r = latest.get((run.candidate.config_id, run.seed))
    if r is None or r.suggestion_key != dumps(run.candidate.suggestion) or r.status == INTERRUPTED:
        return False
    return r.status == SUCCESS or not retry_failed


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SweepError(f"another validation of this sweep is running (lock {path}); wait for it to finish "
                             "or stop it (its finished runs are kept)") from exc
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def recorded_seeds(cfg: ValidationConfig, results: Sequence[RunResult]) -> tuple[int, ...]:
    """Seeds that have a result under this protocol, sorted (what ``--report`` shows without ``--seeds``)."""
    return tuple(sorted({seed for (_, seed) in latest_results(cfg, results)}))


@dataclass
class ValidationRunner:
    """Executes planned runs through ``dispatcher`` and ``make_evaluator(seed)``, appending each result."""

    cfg: ValidationConfig
    dispatcher: Dispatcher
    make_evaluator: EvaluatorFactory
    log: LogFn = field(default=lambda s: print(s, flush=True))

    def run(self, planned: Sequence[PlannedRun], retry_failed: bool = False) -> list[RunResult]:
        """Run every pending pair in order; returns the results recorded by this call. One runner per sweep at a
        time (an exclusive lock next to the results file); a second one raises SweepError instead of duplicating."""
        with _exclusive(self.cfg.results_path.with_suffix(".lock")):
            return self._run(planned, retry_failed)

    def _run(self, planned: Sequence[PlannedRun], retry_failed: bool) -> list[RunResult]:
        book = ResultLog(self.cfg.results_path, self.log)
        latest = latest_results(self.cfg, book.load())
        todo = [p for p in planned if not is_done(p, latest, retry_failed)]
        self.log(f"[{self.cfg.sweep_name}] validation: {len(planned) - len(todo)} of {len(planned)} runs done, "
                 f"{len(todo)} to run")
        out = []
        for i, p in enumerate(todo, 1):
            self.log(f"[{self.cfg.sweep_name}] ({i}/{len(todo)}) {p.run_id}: {p.candidate.config_id} seed {p.seed}")
            res = self.run_one(p)
            book.append(res)
            out.append(res)
            msg = f"score={res.score:.5g}" if res.status == SUCCESS else f"{res.status.upper()}: {res.reason}"
            self.log(f"[{self.cfg.sweep_name}] {p.run_id} {msg}")
        return out

    def run_one(self, p: PlannedRun) -> RunResult:
        """Train + evaluate one pair. KeyboardInterrupt is recorded as interrupted, any other exception as a
        failure, and both are re-raised; the caller records the returned result."""
        if p.run_dir.exists():  # an earlier failed/interrupted attempt: keep it, but never resume from it
            p.run_dir.rename(p.run_dir.with_name(f"{p.run_dir.name}.attempt-{int(time.time() * 1000)}"))
        t0 = time.monotonic()
        times = [0.0, 0.0]
        try:
            score, reason = self._execute(p, times)
        except KeyboardInterrupt:
            ResultLog(self.cfg.results_path, self.log).append(
                self._result(p, INTERRUPTED, None, "interrupted by user (Ctrl-C)", [time.monotonic() - t0, 0.0]))
            raise
        except Exception as exc:  # recorded (never lost, never a score), then the validation stops
            ResultLog(self.cfg.results_path, self.log).append(
                self._result(p, FAILED, None, f"validation error: {exc!r}", [time.monotonic() - t0, 0.0]))
            raise
        status = SUCCESS if score is not None else FAILED
        return self._result(p, status, score, reason, times)

    def _execute(self, p: PlannedRun, times: list[float]) -> tuple[float | None, str]:
        req = TrainRequest(p.run_id, p.run_dir, train_args(self.cfg, p), p.run_dir / "train.log", self.cfg.train_timeout)
        trial = run_trial(
            self.dispatcher, self.make_evaluator(p.seed), req, self.cfg.eval_timeout, self.cfg.metric,
            lambda s, line: self.log(f"[{self.cfg.sweep_name}] {p.run_id} training {s:.0f}s | {line[:90]}"),
        )
        times[0], times[1] = trial.train_s, trial.eval_s
        return trial.objective, trial.reason

    def _result(self, p: PlannedRun, status: str, score: float | None, reason: str, times: list[float]) -> RunResult:
        return RunResult(p.candidate.config_id, p.seed, p.run_id, status, score, " ".join(reason.split())[:1000],
                         p.candidate.suggestion, self.cfg.protocol(), round(times[0], 3), round(times[1], 3),
                         time.time())


@dataclass(frozen=True)
class ConfigReport:
    """Validation statistics of one configuration (the baseline has no delta/p/verdict)."""

    config_id: str
    suggestion: dict[str, Any]
    sweep_score: float | None
    n: int
    n_failed: int
    seeds_pending: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    delta: float = math.nan
    p: float = math.nan
    p_holm: float = math.nan
    cohens_d: float = math.nan
    verdict: str = ""
    failures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (NaN becomes null)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else list(v) if isinstance(v, tuple)
                    else v) for k, v in asdict(self).items()}


def build_report(cfg: ValidationConfig, candidates: Sequence[Candidate], results: Sequence[RunResult],
                 bootstrap_seed: int = 0) -> list[ConfigReport]:
    """Per-configuration statistics over the planned seeds (newest result per pair, this protocol only)."""
    from metta.common.seeding import derive_seed, make_rng
    from metta.sweep import stats

    latest = latest_results(cfg, results)
    scores: dict[str, list[float]] = {}
    fails: dict[str, list[str]] = {}
    pending: dict[str, int] = {}
    for c in candidates:
        key = dumps(c.suggestion)
        rs = [latest.get((c.config_id, s)) for s in cfg.seeds]
        rs = [r if r is not None and r.suggestion_key == key else None for r in rs]
        scores[c.config_id] = [r.score for r in rs if r is not None and r.status == SUCCESS]  # type: ignore[misc]
        fails[c.config_id] = [f"seed {r.seed}: {r.reason}" for r in rs if r is not None and r.status == FAILED]
        pending[c.config_id] = sum(1 for r in rs if r is None or r.status == INTERRUPTED)
    base = scores.get(BASELINE, [])
    tests = {c.config_id: stats.welch_t_test(scores[c.config_id], base) for c in candidates
             if c.config_id != BASELINE}
    adjusted = dict(zip(tests, stats.holm([t.p for t in tests.values()]), strict=True))
    out = []
    for i, c in enumerate(candidates):
        xs = scores[c.config_id]
        s = stats.summarize(xs, make_rng(derive_seed(bootstrap_seed, i)))
        extra: dict[str, Any] = {}
        if c.config_id != BASELINE:
            delta = s.mean - stats.mean(base) if xs and base else math.nan
            t = tests[c.config_id]
            extra = {"delta": delta, "p": t.p, "p_holm": adjusted[c.config_id], "cohens_d": stats.cohens_d(xs, base),
                     "verdict": stats.verdict(delta, t.p, cfg.alpha, cfg.goal)}
        out.append(ConfigReport(c.config_id, c.suggestion, c.sweep_score, s.n, len(fails[c.config_id]),
                                pending[c.config_id], s.mean, s.std, s.ci_low, s.ci_high,
                                failures=tuple(fails[c.config_id]), **extra))
    return out


def _g(v: float | None, spec: str = ".4g") -> str:
    return "-" if v is None or not math.isfinite(v) else format(v, spec)


def format_report(cfg: ValidationConfig, reports: Sequence[ConfigReport]) -> str:
    """The human table: n, mean ± std, 95% CI, delta vs baseline, p, verdict per configuration."""
    from metta.sweep.config import flatten

    head = (f"sweep {cfg.sweep_name}: {cfg.metric} ({cfg.goal}) on suite {cfg.sim_name}, seeds "
            f"{','.join(map(str, cfg.seeds))}, Welch t-test vs baseline at alpha {cfg.alpha}")
    rows = [("config", "n", "fail", "mean ± std", "95% CI", "delta", "p", "p_holm", "d", "verdict")]
    for r in reports:
        rows.append((r.config_id, str(r.n), str(r.n_failed), f"{_g(r.mean)} ± {_g(r.std)}",
                     f"[{_g(r.ci_low)}, {_g(r.ci_high)}]", _g(r.delta, "+.4g"), _g(r.p, ".3g"),
                     _g(r.p_holm, ".3g"), _g(r.cohens_d, ".2f"), r.verdict or ("(reference)" if r.config_id ==
                                                                              BASELINE else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [head, ""] + ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in reports:
        notes = []
        if r.config_id != BASELINE:
            params = ", ".join(f"{k}={_g(v, '.4g') if isinstance(v, float) else v}"
                               for k, v in flatten(r.suggestion).items())
            notes.append(f"  {r.config_id}: sweep score {_g(r.sweep_score)}; {params}")
        if r.n < 2:
            notes.append(f"    {r.config_id}: {r.n} successful run(s); a t-test needs at least 2 per configuration")
        if r.seeds_pending:
            notes.append(f"    {r.seeds_pending} seed(s) not run yet")
        notes.extend(f"    failed {f}" for f in r.failures)
        lines.extend(notes)
    return "\n".join(lines)
