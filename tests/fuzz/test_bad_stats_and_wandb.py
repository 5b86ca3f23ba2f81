"""Fuzz cases for the two surfaces the first suite lacked: stats databases (``StatsDB`` and ``./tools/sim.py``) and
W&B sweep YAML files (``load_wandb_file`` and ``./tools/wandb_sweep.py``). Each bad input is refused with a
MettaError (exit 2 from the tools) naming the bad file, key or value; stored files stay byte-identical."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metta.common.errors import ConfigError, EvaluationError, MettaError
from metta.sim.stats_db import StatsDB
from metta.sweep.wandb_format.job import load_wandb_file

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _real_stats_db(path: Path) -> Path:
    with StatsDB(path) as db:
        assert db.path == path
    return path


# --- stats databases ----------------------------------------------------------------------------------------------
def _junk(p: Path) -> None:
    p.write_bytes(b"not a database at all " * 100)


def _truncated(p: Path) -> None:
    real = _real_stats_db(p.with_name("real.db")).read_bytes()
    p.write_bytes(real[: len(real) // 3] + b"\x00garbage")


def _foreign_schema(p: Path) -> None:
    conn = sqlite3.connect(p)
    conn.execute("CREATE TABLE episodes (id INTEGER PRIMARY KEY, note TEXT)")  # our table name, other columns
    conn.execute("INSERT INTO episodes (note) VALUES ('kept')")
    conn.commit()
    conn.close()


def _garbage_header(p: Path) -> None:
    real = bytearray(_real_stats_db(p.with_name("real.db")).read_bytes())
    real[0:16] = b"SQLite format 9\x00"
    p.write_bytes(bytes(real))


STATS_CASES = {
    "junk": (_junk, "corrupt or not a SQLite database"),
    "truncated": (_truncated, "stats database"),
    "foreign_schema": (_foreign_schema, "lacks columns"),
    "bad_header": (_garbage_header, "corrupt or not a SQLite database"),
}


@pytest.mark.parametrize("case", STATS_CASES, ids=list(STATS_CASES))
def test_bad_stats_databases_are_refused_naming_the_file_and_left_untouched(tmp_path: Path, case: str) -> None:
    make, named = STATS_CASES[case]
    db = tmp_path / "stats.db"
    make(db)
    before = _sha(db)
    with pytest.raises(EvaluationError, match=named) as err:
        StatsDB(db)
    assert str(db) in str(err.value)
    assert _sha(db) == before, f"{case}: a refused stats database was changed"


def test_stats_db_path_that_is_a_directory_or_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(EvaluationError, match="dir.db"):
        StatsDB(tmp_path / "dir.db")
    (tmp_path / "plain").write_text("a file, not a directory")
    with pytest.raises(EvaluationError, match="plain"):
        StatsDB(tmp_path / "plain" / "stats.db")
    assert (tmp_path / "plain").read_text() == "a file, not a directory"


def test_sim_tool_exits_1_on_a_corrupt_stats_db_and_keeps_it(tmp_path: Path) -> None:
    """tools/sim.py documents exit 1 on error (2 means some simulations timed out)."""
    from tests.sim.test_tool import TINY, _checkpoint, _tool

    _checkpoint(tmp_path / "r")
    db = tmp_path / "stats.db"
    _junk(db)
    before = _sha(db)
    proc = _tool([f"data_dir={tmp_path}", "run=r", f"stats_db_uri={db}", *TINY], cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"stats database {db} is corrupt" in proc.stderr
    assert _sha(db) == before


# --- W&B sweep YAML -----------------------------------------------------------------------------------------------
GOOD = {
    "method": "bayes",
    "metric": {"name": "reward", "goal": "maximize"},
    "parameters": {"trainer.optimizer.learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}},
}
LR = "trainer.optimizer.learning_rate"


def _with(**top: object) -> dict:
    return {**GOOD, **top}


def _lr(**spec: object) -> dict:
    return _with(parameters={LR: spec})


WANDB_CASES = {
    "method": (_with(method="telepathy"), "telepathy"),
    "goal": (_with(metric={"name": "reward", "goal": "sideways"}), "sideways"),
    "no_metric": ({k: v for k, v in GOOD.items() if k != "metric"}, "metric"),
    "metric_key": (_with(metric={"name": "reward", "gaol": "maximize"}), "gaol"),
    "target_nan": (_with(metric={"name": "reward", "goal": "maximize", "target": float("nan")}), "target"),
    "top_key": (_with(paramters={}), "paramters"),
    "run_cap": (_with(run_cap=-3), "run_cap"),
    "early_terminate": (_with(early_terminate={"type": "hyperband"}), "early_terminate"),
    "distribution": (_lr(distribution="cauchy", min=0.1, max=1), "cauchy"),
    "min_gt_max": (_lr(distribution="uniform", min=2.0, max=1.0), LR),
    "log_min_zero": (_lr(distribution="log_uniform_values", min=0.0, max=1.0), LR),
    "empty_values": (_lr(values=[]), LR),
    "probabilities": (_lr(values=[1, 2], probabilities=[0.9, 0.9]), "probabilities"),
    "command": (_with(command="python train.py"), "command"),
}


@pytest.mark.parametrize("case", WANDB_CASES, ids=list(WANDB_CASES))
def test_bad_wandb_sweep_files_are_refused_naming_file_and_key(tmp_path: Path, case: str) -> None:
    doc, named = WANDB_CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as err:
        load_wandb_file(path)
    msg = str(err.value)
    assert str(path) in msg and named in msg, msg


def test_good_wandb_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    wb = load_wandb_file(path)
    assert (wb.method, wb.metric, wb.goal) == ("bayes", "reward", "maximize")


@pytest.mark.parametrize("text", ["method: [bayes", "- a\n- b\n", "parameters: {lr: {min: 1, max: }", "\t: x"])
def test_unparsable_wandb_yaml_exits_2_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "wandb_sweep.py"), "convert", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "broken.yaml" in proc.stderr
    assert path.read_text() == text


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=6))
_spec = st.dictionaries(
    st.sampled_from(["distribution", "min", "max", "mu", "sigma", "q", "values", "value", "probabilities", "x"]),
    st.one_of(_leaf, st.lists(_leaf, max_size=3), st.sampled_from(["uniform", "log_uniform_values", "int_uniform"])),
    max_size=5,
)


@FUZZ
@given(spec=_spec, method=st.sampled_from(["bayes", "random", "grid"]))
def test_random_wandb_parameter_specs_are_refused_cleanly_or_accepted(tmp_path: Path, spec: dict, method: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(_with(method=method, parameters={LR: spec}), allow_unicode=True))
    try:
        wb = load_wandb_file(path)
    except MettaError as exc:  # anything else (TypeError, KeyError, ...) fails the test
        assert str(path) in str(exc)
    else:
        assert wb.sweep["parameters"], "an accepted file must keep its parameter"
