"""Replays: HTML is self-contained and holds every frame of env 0's first episode; the GIF animates them."""

from __future__ import annotations

import json
import re

from PIL import Image

from metta.sim import SimulationConfig, SimulationSuiteConfig, StatsDB, evaluate
from tests.sim.fakes import CountingEnv, ScriptedPolicy


def test_replay_written_on_request(tmp_path):
    ck = tmp_path / "model_0003.pt"
    ck.write_bytes(b"x")
    suite = SimulationSuiteConfig(name="t", simulations=(SimulationConfig(name="arena/r", env="fake", num_episodes=2),))
    evaluate(f"file://{ck}", suite, tmp_path / "s.db", replay_dir=tmp_path / "replays",
             env_maker=lambda sim: (lambda n, seed: CountingEnv(n, seed, num_agents=3, length=4)),
             policy_loader=lambda p, d: (ScriptedPolicy(), {}))
    html = (tmp_path / "replays" / "arena__r.html").read_text()
    assert not re.search(r"(src|href)=\"?(https?:)?//", html)  # nothing loaded from the network
    data = json.loads(re.search(r'<script id="replay-data" type="application/json">(.*?)</script>', html, re.S)[1])
    # env 0 lasts 4 steps: frames for steps 0..3 (the terminal step auto-resets, so it has no frame)
    assert [f["t"] for f in data["frames"]] == [0, 1, 2, 3]
    assert data["height"] == 5 and data["width"] == 7 and len(data["walls"]) == 2 * 7 + 2 * 3
    last = data["frames"][-1]
    assert last["objects"] == [[1, 1, "altar", {"heart": 3}]]
    assert last["agents"][2] == [2, 3, 3, 0, 0, {"ore_red": 3}]
    gif = Image.open(tmp_path / "replays" / "arena__r.gif")
    assert gif.n_frames == 4
    with StatsDB(tmp_path / "s.db") as db:
        urls = db.query("SELECT env_index, replay_url FROM episodes ORDER BY id")
        assert urls[0][1].endswith("arena__r.html") and urls[0][0] == 0 and urls[1][1] is None


def test_no_replay_by_default(tmp_path):
    ck = tmp_path / "model_0003.pt"
    ck.write_bytes(b"x")
    suite = SimulationSuiteConfig(name="t", simulations=(SimulationConfig(name="arena/r", env="fake"),))
    evaluate(f"file://{ck}", suite, tmp_path / "s.db",
             env_maker=lambda sim: (lambda n, seed: CountingEnv(n, seed)),
             policy_loader=lambda p, d: (ScriptedPolicy(), {}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_0003.pt", "s.db", "s.db-shm", "s.db-wal"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["model_0003.pt", "s.db"]
