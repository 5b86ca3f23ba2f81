"""The SweepStore contract, run against SQLite, PostgreSQL and the HTTP service (see conftest.store)."""

from __future__ import annotations

import math

import pytest

from metta.common.errors import StoreError
from metta.sweep.store import INTERRUPTED_REASON, TRIAL_DONE, TRIAL_FAILED, TRIAL_RUNNING, SweepStore


def test_register_is_idempotent_and_keeps_meta(store: SweepStore, sweep_name: str) -> None:
    assert store.get_sweep(sweep_name) is None
    info, created = store.register_sweep(sweep_name, {"project": "p", "entity": "e"})
    assert created is True
    assert info.name == sweep_name and info.meta == {"project": "p", "entity": "e"}
    again, created2 = store.register_sweep(sweep_name, {"project": "other"})
    assert created2 is False
    assert again.meta == {"project": "p", "entity": "e"}  # first registration wins
    got = store.get_sweep(sweep_name)
    assert got is not None and got.created_at == pytest.approx(info.created_at)


def test_run_ids_count_up_per_sweep(store: SweepStore, sweep_name: str) -> None:
    other = sweep_name + "_b"
    store.register_sweep(sweep_name)
    store.register_sweep(other)
    assert [store.next_run_id(sweep_name) for _ in range(3)] == [f"{sweep_name}.r.{i}" for i in range(3)]
    assert store.next_run_id(other) == f"{other}.r.0"
    assert store.next_run_id(sweep_name) == f"{sweep_name}.r.3"
    info = store.get_sweep(sweep_name)
    assert info is not None and info.run_ids_issued == 4


def test_next_run_id_of_unknown_sweep_fails(store: SweepStore, sweep_name: str) -> None:
    with pytest.raises(StoreError, match="not"):
        store.next_run_id(sweep_name)


def test_trial_lifecycle(store: SweepStore, sweep_name: str) -> None:
    store.register_sweep(sweep_name)
    rid = store.next_run_id(sweep_name)
    t = store.start_trial(sweep_name, rid, {"trainer": {"lr": 0.01}}, "host:1")
    assert t.status == TRIAL_RUNNING and t.worker == "host:1"
    running = store.list_trials(sweep_name)
    assert [x.run_id for x in running] == [rid]
    assert running[0].suggestion == {"trainer": {"lr": 0.01}}
    with pytest.raises(StoreError):
        store.start_trial(sweep_name, rid, {}, "host:2")
    store.heartbeat(sweep_name, rid)
    assert store.list_trials(sweep_name)[0].heartbeat_at >= t.started_at
    o = store.record_observation(sweep_name, rid, {"trainer": {"lr": 0.01}}, 0.75, 12.5, False)
    assert o.objective == 0.75 and o.cost == 12.5 and not o.is_failure
    assert store.list_trials(sweep_name) == []
    done = store.list_trials(sweep_name, status=TRIAL_DONE)
    assert [x.run_id for x in done] == [rid]
    assert len(store.list_trials(sweep_name, status=None)) == 1


def test_failure_observation_has_null_objective(store: SweepStore, sweep_name: str) -> None:
    store.register_sweep(sweep_name)
    rid = store.next_run_id(sweep_name)
    store.start_trial(sweep_name, rid, {"a": 1}, "w")
    o = store.record_observation(sweep_name, rid, {"a": 1}, float("nan"), 3.0, True, "NaN score")
    assert o.objective is None and o.is_failure and o.reason == "NaN score"
    (loaded,) = store.load_observations(sweep_name)
    assert loaded.objective is None and loaded.is_failure and loaded.reason == "NaN score" and loaded.cost == 3.0
    assert [t.run_id for t in store.list_trials(sweep_name, status=TRIAL_FAILED)] == [rid]


@pytest.mark.parametrize(
    ("objective", "cost", "is_failure", "reason", "match"),
    [
        (float("nan"), 1.0, False, "", "not finite"),
        (None, 1.0, False, "", "needs an objective"),
        (1.0, -1.0, False, "", "cost"),
        (1.0, float("inf"), False, "", "cost"),
        (None, 1.0, True, "", "reason"),
    ],
)
def test_bad_observations_are_rejected_and_nothing_is_stored(
    store: SweepStore, sweep_name: str, objective: float | None, cost: float, is_failure: bool, reason: str, match: str
) -> None:
    store.register_sweep(sweep_name)
    store.record_observation(sweep_name, None, {"x": 0}, 1.0, 1.0, False)
    with pytest.raises(StoreError, match=match):
        store.record_observation(sweep_name, None, {"x": 1}, objective, cost, is_failure, reason)
    assert store.count_observations(sweep_name) == 1


def test_load_is_newest_first_with_a_real_cap(store: SweepStore, sweep_name: str) -> None:
    store.register_sweep(sweep_name)
    for i in range(30):
        store.record_observation(sweep_name, None, {"i": i}, float(i), 1.0 + i, False)
    assert store.count_observations(sweep_name) == 30
    assert store.count_observations(sweep_name, launched_only=True) == 0
    top = store.load_observations(sweep_name, limit=7)
    assert [o.suggestion["i"] for o in top] == list(range(29, 22, -1))
    assert len(store.load_observations(sweep_name)) == 30
    assert store.load_observations(sweep_name, limit=0) == []
    assert store.load_observations(sweep_name + "_none", limit=5) == []


def test_observation_for_unregistered_sweep_fails(store: SweepStore, sweep_name: str) -> None:
    with pytest.raises(StoreError, match="not registered"):
        store.record_observation(sweep_name, None, {}, 1.0, 1.0, False)


def test_run_ids_are_single_use_for_observations(store: SweepStore, sweep_name: str) -> None:
    store.register_sweep(sweep_name)
    rid = store.next_run_id(sweep_name)
    store.start_trial(sweep_name, rid, {}, "w")
    store.record_observation(sweep_name, rid, {}, 1.0, 1.0, False)
    with pytest.raises(StoreError):
        store.record_observation(sweep_name, rid, {}, 2.0, 1.0, False)
    assert [o.objective for o in store.load_observations(sweep_name)] == [1.0]


def test_mark_interrupted_records_failures_and_a_late_result_replaces_them(store: SweepStore, sweep_name: str) -> None:
    store.register_sweep(sweep_name)
    a, b, c = (store.next_run_id(sweep_name) for _ in range(3))
    for rid in (a, b, c):
        store.start_trial(sweep_name, rid, {"rid": rid}, "dead:1")
    store.record_observation(sweep_name, c, {"rid": c}, 5.0, 1.0, False)
    closed = store.mark_interrupted(sweep_name, [a, b, c])
    assert sorted(closed) == sorted([a, b])  # c had already finished
    assert store.list_trials(sweep_name) == []
    obs = {o.run_id: o for o in store.load_observations(sweep_name)}
    assert obs[a].is_failure and obs[a].reason == INTERRUPTED_REASON and obs[a].objective is None
    assert obs[a].suggestion == {"rid": a} and obs[a].cost > 0
    assert store.mark_interrupted(sweep_name, [a]) == []
    # the presumed-dead worker finishes after all: its real result replaces the 'interrupted' record
    store.record_observation(sweep_name, b, {"rid": b}, 2.5, 4.0, False)
    obs = {o.run_id: o for o in store.load_observations(sweep_name)}
    assert len(obs) == 3 and obs[b].objective == 2.5 and not obs[b].is_failure
    assert math.isclose(sum(1 for o in obs.values() if o.is_failure), 1)


def test_numpy_values_in_suggestions_are_stored_as_plain_json(store: SweepStore, sweep_name: str) -> None:
    np = pytest.importorskip("numpy")
    store.register_sweep(sweep_name)
    sugg = {"trainer": {"batch_size": np.int64(1024), "lr": np.float32(0.5)}}
    store.record_observation(sweep_name, None, sugg, np.float64(1.25), np.float64(2.0), False)
    (o,) = store.load_observations(sweep_name)
    assert o.suggestion == {"trainer": {"batch_size": 1024, "lr": 0.5}} and o.objective == 1.25


def test_invalid_sweep_names_are_rejected(store: SweepStore) -> None:
    with pytest.raises(StoreError, match="invalid sweep name"):
        store.register_sweep("a/b")


def test_starting_a_point_another_worker_is_running_is_refused(store: SweepStore, sweep_name: str) -> None:
    from metta.sweep.store import DuplicateTrialError

    store.register_sweep(sweep_name)
    a, b = store.next_run_id(sweep_name), store.next_run_id(sweep_name)
    store.start_trial(sweep_name, a, {"lr": 0.1, "b": 2}, "w1")
    with pytest.raises(DuplicateTrialError, match=a):
        store.start_trial(sweep_name, b, {"b": 2, "lr": 0.1}, "w2")
    assert [t.run_id for t in store.list_trials(sweep_name)] == [a]
    store.start_trial(sweep_name, b, {"lr": 0.2, "b": 2}, "w2")  # a different point is fine
    store.record_observation(sweep_name, a, {"lr": 0.1, "b": 2}, 1.0, 1.0, False)
    c = store.next_run_id(sweep_name)
    store.start_trial(sweep_name, c, {"lr": 0.1, "b": 2}, "w3")  # re-running a finished point is allowed
