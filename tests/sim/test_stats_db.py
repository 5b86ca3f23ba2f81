"""StatsDB: zero-fill averages and exact category scores against hand-computed values; durability; concurrency."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from metta.common.config import REPO_ROOT
from metta.common.errors import EvaluationError
from metta.sim.stats_db import EpisodeRecord, Filter, StatsDB


def _ep(metrics: list[dict[str, float]], policies: list[tuple[str, int]], seed: int = 1, steps: int = 10):
    return EpisodeRecord(
        env_index=0,
        seed=seed,
        steps=steps,
        agent_metrics=metrics,
        agent_policies=policies,
        created_at=0.0,
        completed_at=1.0,
        max_steps=20,
    )


def _sim(db: StatsDB, name: str, policy: str = "p", version: int = 1, eval_id: str = "e1") -> int:
    return db.start_simulation(
        eval_id=eval_id,
        name=name,
        suite="s",
        env=f"/env/{name}",
        policy_key=policy,
        policy_version=version,
        num_episodes=1,
    )


@pytest.fixture
def built_db(tmp_path):
    """Two categories, three sims; some agents never emit heart.get; one agent is an NPC."""
    db = StatsDB(tmp_path / "stats.db")
    s1 = _sim(db, "arena/basic")
    db.add_episode(s1, _ep([{"reward": 2.0, "heart.get": 1.0}, {"reward": 4.0}], [("p", 1), ("p", 1)]))
    db.add_episode(s1, _ep([{"reward": 0.0}, {"reward": 6.0, "heart.get": 3.0}], [("p", 1), ("p", 1)], seed=2))
    s2 = _sim(db, "arena/combat")
    # agent 1 is an NPC with a huge reward: must not count for policy p
    db.add_episode(s2, _ep([{"reward": 1.0}, {"reward": 100.0, "heart.get": 9.0}], [("p", 1), ("npc", 0)]))
    # a simulation whose name merely contains "arena" is a different category (legacy used a substring match)
    s3 = _sim(db, "navigation/arena_maze")
    db.add_episode(s3, _ep([{"reward": 10.0}, {"reward": 20.0}], [("p", 1), ("p", 1)]))
    yield db
    db.close()


def test_zero_fill_average_matches_hand_count(built_db):
    p = Filter(policy_key="p", policy_version=1)
    # heart.get for policy p: agent-episodes = 4 (basic) + 1 (combat) + 2 (navigation) = 7; sum = 1 + 3 = 4
    assert built_db.num_samples(p) == 7
    assert built_db.average_metric("heart.get", p) == pytest.approx(4 / 7)
    # reward: (2+4+0+6) + 1 + (10+20) = 43 over 7
    assert built_db.average_metric("reward", p) == pytest.approx(43 / 7)
    assert built_db.average_metric("heart.get", Filter(policy_key="npc")) == pytest.approx(9.0)
    assert built_db.average_metric("reward", Filter(policy_key="nobody")) is None


def test_category_scores_exact_match(built_db):
    p = Filter(policy_key="p", policy_version=1)
    sims = built_db.simulation_scores(p)
    assert sims == pytest.approx({"arena/basic": 12 / 4, "arena/combat": 1.0, "navigation/arena_maze": 15.0})
    cats = built_db.category_scores(p)
    # arena pools its 5 agent-episodes: (12 + 1) / 5; the substring match would have pulled in the maze too
    assert cats == pytest.approx({"arena": 13 / 5, "navigation": 15.0})
    assert built_db.avg_category_score(p) == pytest.approx((13 / 5 + 15.0) / 2)
    assert built_db.category_scores(p, metric="heart.get") == pytest.approx({"arena": 4 / 5, "navigation": 0.0})


def test_real_step_counts_and_seeds_stored(built_db):
    rows = built_db.query("SELECT seed, steps, max_steps FROM episodes ORDER BY id")
    assert rows == [(1, 10, 20), (2, 10, 20), (1, 10, 20), (1, 10, 20)]
    assert [s["num_episodes_completed"] for s in built_db.simulations()] == [2, 1, 1]


def test_reopen_appends_never_truncates(tmp_path):
    path = tmp_path / "stats.db"
    with StatsDB(path) as db:
        db.add_episode(_sim(db, "arena/basic"), _ep([{"reward": 1.0}], [("p", 1)]))
    with StatsDB(path) as db:
        db.add_episode(_sim(db, "arena/basic", eval_id="e2"), _ep([{"reward": 3.0}], [("p", 1)]))
        assert db.num_samples() == 2
        assert db.average_metric("reward", Filter(eval_id="e2")) == 3.0
        assert db.average_metric("reward") == 2.0


def test_corrupt_db_raises_and_keeps_file(tmp_path):
    path = tmp_path / "stats.db"
    garbage = b"this is not a sqlite database" * 100
    path.write_bytes(garbage)
    with pytest.raises(EvaluationError, match="stats.db.*corrupt"):
        StatsDB(path)
    assert path.read_bytes() == garbage


def test_directory_path_is_a_clear_error(tmp_path):
    (tmp_path / "stats.db").mkdir()
    with pytest.raises(EvaluationError, match="cannot open stats database .*stats.db"):
        StatsDB(tmp_path / "stats.db")


def test_foreign_schema_rejected(tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE simulations (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO simulations (name) VALUES ('keep me')")
    conn.commit()
    conn.close()
    with pytest.raises(EvaluationError, match="lacks columns"):
        StatsDB(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM simulations").fetchall() == [("keep me",)]
    conn.close()


def test_two_concurrent_writer_processes_lose_nothing(tmp_path):
    path = tmp_path / "stats.db"
    StatsDB(path).close()
    script = textwrap.dedent(
        """
        import pathlib, sys, time
        from metta.sim.stats_db import EpisodeRecord, StatsDB
        db = StatsDB(sys.argv[1])
        tag = sys.argv[2]
        ready = pathlib.Path(sys.argv[1] + "." + tag + ".ready")
        ready.touch()
        while len(list(ready.parent.glob("*.ready"))) < 2:  # start writing together
            time.sleep(0.01)
        for i in range(40):
            sid = db.start_simulation(eval_id=tag, name=f"arena/s{i}", suite="s", env="e", policy_key=tag,
                                      policy_version=0, num_episodes=1)
            db.add_episode(sid, EpisodeRecord(env_index=0, seed=i, steps=5, created_at=0.0, completed_at=0.0,
                           agent_metrics=[{"reward": 1.0, "x": float(i)}] * 3, agent_policies=[(tag, 0)] * 3))
            db.finish_simulation(sid, "complete", 0.1)
            time.sleep(0.02)  # keep both writers active over the same ~1 s
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), tag], cwd=REPO_ROOT, stderr=subprocess.PIPE)
        for tag in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with StatsDB(path) as db:
        for tag in ("a", "b"):
            assert db.num_samples(Filter(policy_key=tag)) == 120
            assert db.average_metric("x", Filter(policy_key=tag)) == pytest.approx(sum(range(40)) / 40)
        assert db.query("SELECT COUNT(*) FROM episodes") == [(80,)]
        assert db.query("SELECT COUNT(*) FROM simulations WHERE status = 'complete'") == [(80,)]
        # the two writers really interleaved (ids alternate between them at least once)
        owners = [r[0] for r in db.query("SELECT policy_key FROM simulations ORDER BY id")]
        assert sum(a != b for a, b in zip(owners, owners[1:], strict=False)) > 1
