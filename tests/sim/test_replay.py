"""Replays: HTML is self-contained and holds every frame of env 0's first episode; the GIF animates them."""

from __future__ import annotations

import json
import re

from PIL import Image

from metta.sim import SimulationConfig, SimulationSuiteConfig, StatsDB
from metta.sim.evaluate import evaluate
from tests.sim.fakes import CountingEnv, ScriptedPolicy


def test_replay_written_on_request(tmp_path):
    ck = tmp_path / "model_0003.pt"
    ck.write_bytes(b"x")
    suite = SimulationSuiteConfig(name="t", simulations=(SimulationConfig(name="arena/r", env="fake", num_episodes=2),))
    evaluate(
        f"file://{ck}",
        suite,
        tmp_path / "s.db",
        replay_dir=tmp_path / "replays",
        env_maker=lambda sim: lambda n, seed: CountingEnv(n, seed, num_agents=3, length=4),
        policy_loader=lambda p, d: (ScriptedPolicy(), {}),
    )
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
    evaluate(
        f"file://{ck}",
        suite,
        tmp_path / "s.db",
        env_maker=lambda sim: lambda n, seed: CountingEnv(n, seed),
        policy_loader=lambda p, d: (ScriptedPolicy(), {}),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_0003.pt", "s.db", "s.db-shm", "s.db-wal"] or sorted(
        p.name for p in tmp_path.iterdir()
    ) == ["model_0003.pt", "s.db"]


NODE_STUB = """
const els = {};
function el(id) {
  if (!els[id]) els[id] = {id, textContent: id === 'replay-data' ? DATA : '', innerHTML: '', value: 0, max: 0,
    getContext: () => new Proxy({}, {get: (t, k) => (k in t ? t[k] : () => {}), set: (t, k, v) => { t[k] = v; return true; }})};
  return els[id];
}
const document = {getElementById: el};
const ticks = []; function setInterval(f) { ticks.push(f); return ticks.length; } function clearInterval() {}
"""
NODE_CHECK = """
;el('next').onclick(); el('next').onclick();
if (!el('lbl').textContent.startsWith('frame 3/5')) throw new Error('label ' + el('lbl').textContent);
if (!el('agents').innerHTML.includes('ore_red:2')) throw new Error('inventory table ' + el('agents').innerHTML);
el('play').onclick(); ticks[0](); console.log(el('lbl').textContent);
"""


def test_html_player_script_runs(tmp_path):
    """Run the player's script under node with a stub DOM: stepping updates the label and inventory table."""
    import shutil
    import subprocess

    import pytest

    from metta.sim.replay import ReplayRecorder

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    env = CountingEnv(1, 0, num_agents=2, length=5)
    rec = ReplayRecorder(tmp_path, "arena/r")
    rec.on_step(env, 0, None)
    for t in range(1, 5):
        env.step(__import__("numpy").ones(2, dtype=int))
        rec.on_step(env, t, __import__("numpy").zeros(2, dtype=bool))
    html_path, _ = rec.write()
    html = html_path.read_text()
    data = re.search(r'<script id="replay-data" type="application/json">(.*?)</script>', html, re.S)[1]
    script = re.findall(r"<script>(.*?)</script>", html, re.S)[-1]
    js = tmp_path / "t.js"
    js.write_text("const DATA = " + json.dumps(data) + ";" + NODE_STUB + script + NODE_CHECK)
    out = subprocess.run([node, str(js)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "frame 4/5  step 3"
