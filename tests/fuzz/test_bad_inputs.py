"""Fuzz suite of malformed user inputs: sweep YAML trees, Hydra overrides, store URLs, policy URIs, checkpoints,
config_diff inputs. Each is refused with a MettaError (the tools turn it into exit 2) whose message names the bad
key, value or file; files already stored are checked byte for byte before and after."""

from __future__ import annotations

import copy
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metta.common.errors import MettaError
from metta.sweep.store import open_store
from tests.sweep.conftest import QUICK_SWEEP, make_job

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _checksums(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[Path]:
    """A directory of already-stored data (a sweep store with one observation, a checkpoint, a stats DB); its files
    must be byte-identical after the test."""
    root = tmp_path / "stored"
    root.mkdir()
    store = open_store(root / "sweeps.db")
    store.register_sweep("s", {"metric": "reward"})
    store.record_observation("s", None, {"lr": 0.1}, 1.0, 1.0, False, "")
    store.close()
    (root / "checkpoints").mkdir()
    (root / "checkpoints" / "model_0001.pt").write_bytes(b"stored checkpoint bytes")
    db = sqlite3.connect(root / "stats.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = _checksums(root)
    yield root
    assert _checksums(root) == before, "a malformed input changed stored data"


# --- sweep YAML trees -------------------------------------------------------------------------------------------
def _sweep_with(path: list[str], value: object) -> dict:
    tree = copy.deepcopy(QUICK_SWEEP)
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return tree


LR = ["parameters", "trainer", "optimizer", "learning_rate"]
SWEEP_CASES = [
    (["goal"], "sideways", "sideways"),
    (["method"], "telepathy", "telepathy"),
    ([*LR, "distribution"], "cauchy", "cauchy"),
    ([*LR, "min"], 1.0, "min"),
    ([*LR, "min"], -1.0, "min"),
    ([*LR, "max"], "big", "max"),
    ([*LR, "scale"], -3, "scale"),
    ([*LR, "mean"], 5.0, "mean"),
    ([*LR, "colour"], "blue", "colour"),
    (["parameters"], {}, "parameters"),
    (["parameters"], [1, 2], "[1, 2]"),
    (["metric"], "", "metric"),
    (["protein", "num_random_samples"], -5, "num_random_samples"),
    (["protein", "bogus_knob"], 1, "bogus_knob"),
]


@pytest.mark.parametrize(
    ("path", "value", "named"), SWEEP_CASES, ids=[".".join(c[0][-2:]) + f"={c[1]!r}" for c in SWEEP_CASES]
)
def test_malformed_sweep_yaml_is_refused_naming_the_key(tmp_path: Path, stored: Path, path, value, named) -> None:
    with pytest.raises(MettaError) as exc:
        make_job(tmp_path, sweep=_sweep_with(path, value), uri=str(stored / "sweeps.db"))
    assert named in str(exc.value), str(exc.value)


SETTINGS_CASES = [
    ({"heartbeat_interval": -1}, "heartbeat_interval"),
    ({"max_rejections": 0}, "max_rejections"),
    ({"no_such_setting": 1}, "no_such_setting"),
    ({"train_timeout": "soon"}, "train_timeout"),
]


@pytest.mark.parametrize(("bad", "named"), SETTINGS_CASES, ids=[c[1] for c in SETTINGS_CASES])
def test_malformed_sweep_settings_are_refused_naming_the_key(tmp_path: Path, stored: Path, bad, named) -> None:
    with pytest.raises(MettaError) as exc:
        make_job(tmp_path, uri=str(stored / "sweeps.db"), **bad)
    assert named in str(exc.value), str(exc.value)


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True), st.text(max_size=8))
_tree = st.recursive(_leaf, lambda kids: st.dictionaries(st.text(max_size=6), kids, max_size=4), max_leaves=10)


@FUZZ
@given(spec=_tree)
def test_random_parameter_specs_are_refused_cleanly_or_accepted(tmp_path: Path, spec: object) -> None:
    tree = _sweep_with(LR, spec)
    try:
        make_job(tmp_path, sweep=tree)
    except MettaError as exc:
        assert str(exc)  # a message, never a bare error type
    # anything else (KeyError, TypeError, pydantic's own errors) fails the test


# --- Hydra overrides -------------------------------------------------------------------------------------------
OVERRIDE_CASES = [
    "num_trials",
    "=5",
    "num_trials==",
    "sweep=does_not_exist",
    "settings.heartbeat_interval=abc",
    "nokey.sub=1",
]


@pytest.mark.parametrize("override", OVERRIDE_CASES)
def test_malformed_hydra_overrides_are_refused_naming_the_override(stored: Path, override: str) -> None:
    from metta.common.config import compose
    from metta.sweep.sweep_config import resolve_sweep_job

    with pytest.raises(MettaError) as exc:
        resolve_sweep_job(
            compose("sweep_job", ["sweep_name=x", f"settings.sweep_server_uri={stored / 'sweeps.db'}", override])
        )
    token = override.strip("=").split("=")[0] or override
    assert token.split(".")[-1] in str(exc.value) or override in str(exc.value), str(exc.value)


# --- store URLs --------------------------------------------------------------------------------------------------
STORE_CASES = ["", "   ", "ftp://host/x", "mysql://u@h/db", "redis://h", "s3://bucket/key"]


@pytest.mark.parametrize("uri", STORE_CASES)
def test_bad_store_urls_are_refused_naming_the_url(stored: Path, uri: str) -> None:
    with pytest.raises(MettaError) as exc:
        open_store(uri)
    assert (uri.strip() or "empty") in str(exc.value), str(exc.value)


@FUZZ
@given(scheme=st.from_regex(r"[a-z][a-z0-9+]{1,8}", fullmatch=True), rest=st.text(max_size=12))
def test_random_store_schemes_are_refused_or_opened(stored: Path, scheme: str, rest: str) -> None:
    if scheme in ("http", "https", "postgresql", "postgres", "sqlite", "file"):
        return
    with pytest.raises(MettaError):
        open_store(f"{scheme}://{rest}")


# --- policy URIs and checkpoints ---------------------------------------------------------------------------------
POLICY_CASES = ["", "s3://bucket/model.pt", "gs://b/m", "wandb://", "wandb://project/x", "file:///no/such/policy.pt"]


@pytest.mark.parametrize("uri", POLICY_CASES)
def test_bad_policy_uris_are_refused_naming_the_uri(stored: Path, uri: str) -> None:
    from metta.agent.checkpoint import resolve_policy_uri

    with pytest.raises(MettaError) as exc:
        resolve_policy_uri(uri)
    assert repr(uri) in str(exc.value) or uri in str(exc.value), str(exc.value)


CHECKPOINT_CASES = {
    "empty": b"",
    "text": b"not a checkpoint",
    "zip-header": b"PK\x03\x04garbage",
    "pickle": b"\x80\x04K\x01.",
}


@pytest.mark.parametrize("content", CHECKPOINT_CASES.values(), ids=CHECKPOINT_CASES.keys())
def test_corrupt_checkpoints_are_refused_naming_the_file(tmp_path: Path, stored: Path, content: bytes) -> None:
    from metta.agent.checkpoint import load_checkpoint

    bad = tmp_path / "model_0007.pt"
    bad.write_bytes(content)
    with pytest.raises(MettaError) as exc:
        load_checkpoint(bad)
    assert str(bad) in str(exc.value)


# --- config_diff inputs -----------------------------------------------------------------------------------------
def test_config_diff_bad_inputs_exit_2_naming_the_file(
    tmp_path: Path, stored: Path, capsys: pytest.CaptureFixture
) -> None:
    from metta.config_diff.cli import run

    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("a: [1, 2\n  b: {")
    missing = tmp_path / "missing.yaml"
    for argv, named in (
        ([str(missing), str(missing)], str(missing)),
        ([str(bad_yaml), str(bad_yaml)], str(bad_yaml)),
        (["--mapping", str(missing), str(stored / "stats.db"), str(stored / "stats.db")], str(missing)),
    ):
        rc = run(argv)
        err = capsys.readouterr().err
        assert rc == 2 and named in err, (argv, rc, err)
