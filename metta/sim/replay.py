"""Episode replays a person can look at: a self-contained HTML player and an animated GIF (Pillow).

The recorder keeps one normalised frame per step of env 0's first episode (walls once; per frame the other
objects with their stock, and the agents with position, orientation, frozen flag, group and inventory). The HTML
file embeds the frames as JSON and draws them on a canvas with play/pause/step controls; it loads nothing from the
network. The last frame is the state before the terminal step (the env auto-resets on that step).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

ORIENTATION_DELTAS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right (legacy order)


def _inv(row: Any, items: list[str]) -> dict[str, int]:
    vals = np.asarray(row).reshape(-1)
    return {items[i]: int(v) for i, v in enumerate(vals) if v and i < len(items)}


def env_names(env: Any) -> tuple[dict[int, str], list[str]]:
    """``(type id -> object name, item names)`` of a VecEnv (type id 0 is the agent)."""
    t = env.tables
    names = {int(tid): str(n) for tid, n in zip(t.obj_type_id, t.object_names, strict=True)}
    names[0] = "agent"
    return names, list(t.items)


def snapshot_to_frame(snap: Mapping[str, Any], step: int, type_names: Mapping[int, str], items: list[str]) -> dict:
    """Turn ``VecEnv.snapshot(i)`` (plain arrays) into a frame ``{t, objects, agents}`` (walls are kept apart)."""
    grid = np.asarray(snap["grid"])
    stock = np.asarray(snap.get("converter_inventory", np.zeros((0, len(items)), dtype=int)))
    conv_at = {
        (int(r), int(c)): k
        for k, (r, c) in enumerate(zip(snap.get("converter_row", []), snap.get("converter_col", []), strict=True))
    }
    objects = []
    for r, c in zip(*np.nonzero(grid > 0), strict=True):
        name = type_names.get(int(grid[r, c]), f"type{int(grid[r, c])}")
        if name == "wall":
            continue
        k = conv_at.get((int(r), int(c)))
        objects.append([int(r), int(c), name, _inv(stock[k], items) if k is not None else {}])
    rows, cols = np.asarray(snap["agent_row"]), np.asarray(snap["agent_col"])
    n = len(rows)
    ori = np.asarray(snap.get("agent_orientation", np.zeros(n, dtype=int)))
    frozen = np.asarray(snap.get("agent_frozen", np.zeros(n, dtype=int)))
    group = np.asarray(snap.get("agent_group", np.zeros(n, dtype=int)))
    inv = np.asarray(snap.get("agent_inventory", np.zeros((n, 0), dtype=int)))
    agents = [
        [int(rows[a]), int(cols[a]), int(ori[a]), int(frozen[a] > 0), int(group[a]), _inv(inv[a], items)]
        for a in range(n)
    ]
    return {"t": int(step), "objects": objects, "agents": agents}


def walls_of(snap: Mapping[str, Any], type_names: Mapping[int, str]) -> list[list[int]]:
    """Wall cells ``[[r, c], ...]`` of a snapshot."""
    grid = np.asarray(snap["grid"])
    wall_ids = [tid for tid, n in type_names.items() if n == "wall"]
    return [[int(r), int(c)] for r, c in zip(*np.nonzero(np.isin(grid, wall_ids)), strict=True)]


class ReplayRecorder:
    """Collects frames of env 0's first episode through the runner's ``on_step`` hook and writes HTML + GIF."""

    def __init__(self, out_dir: Path, sim_name: str, eval_id: str = "", max_frames: int = 2000) -> None:
        self.out_dir, self.sim_name, self.eval_id, self.max_frames = Path(out_dir), sim_name, eval_id, max_frames
        self.frames: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = {}
        self.finished = False

    def on_step(self, env: Any, step: int, dones: np.ndarray | None) -> None:
        """Record env 0's state; stop at the end of its first episode."""
        if self.finished:
            return
        if dones is not None and bool(np.asarray(dones)[: env.num_agents].any()):
            self.finished = True
            return
        snap = env.snapshot(0)
        if not self.meta:
            self._names = env_names(env)
            grid = np.asarray(snap["grid"])
            walls = walls_of(snap, self._names[0])
            self.meta = {"height": int(grid.shape[0]), "width": int(grid.shape[1]), "walls": walls}
        if len(self.frames) < self.max_frames:
            self.frames.append(snapshot_to_frame(snap, step, *self._names))

    def replay(self) -> dict[str, Any]:
        """The replay as plain data (what the HTML embeds)."""
        return {"sim": self.sim_name, "eval_id": self.eval_id, **self.meta, "frames": self.frames}

    def write(self) -> tuple[Path, Path] | None:
        """Write ``<sim name>.html`` and ``.gif`` into the output directory; None when nothing was recorded."""
        if not self.frames:
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.sim_name.replace("/", "__")
        html, gif = self.out_dir / f"{stem}.html", self.out_dir / f"{stem}.gif"
        write_html(self.replay(), html)
        write_gif(self.replay(), gif)
        return html, gif


def _color(name: str) -> tuple[int, int, int]:
    fixed = {
        "altar": (220, 40, 60),
        "mine_red": (170, 60, 40),
        "generator_red": (230, 150, 30),
        "block": (120, 90, 60),
        "lasery": (80, 160, 220),
        "armory": (110, 110, 170),
        "lab": (60, 170, 120),
        "factory": (160, 60, 160),
        "temple": (230, 210, 60),
    }
    if name in fixed:
        return fixed[name]
    h = sum(ord(ch) * 31**i for i, ch in enumerate(name)) % 0xFFFFFF
    return (80 + h % 150, 80 + (h >> 8) % 150, 80 + (h >> 16) % 150)


_GROUP_COLORS = ((40, 120, 255), (255, 140, 0), (0, 180, 80), (200, 0, 200))


def render_frame(replay: Mapping[str, Any], frame: Mapping[str, Any], cell: int) -> Any:
    """Draw one frame as a Pillow image."""
    from PIL import Image, ImageDraw

    h, w = int(replay["height"]), int(replay["width"])
    img = Image.new("RGB", (w * cell, h * cell + 14), (245, 245, 240))
    d = ImageDraw.Draw(img)
    for r, c in replay.get("walls", []):
        d.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], fill=(90, 90, 90))
    for r, c, name, stock in frame["objects"]:
        box = [c * cell + 1, r * cell + 1, (c + 1) * cell - 2, (r + 1) * cell - 2]
        d.rectangle(box, fill=_color(name), outline=(255, 255, 255) if stock else None)
    for r, c, ori, frozen, group, _inv in frame["agents"]:
        col = (160, 160, 160) if frozen else _GROUP_COLORS[group % len(_GROUP_COLORS)]
        d.ellipse([c * cell + 1, r * cell + 1, (c + 1) * cell - 2, (r + 1) * cell - 2], fill=col)
        dr, dc = ORIENTATION_DELTAS[ori % 4]
        cy, cx = r * cell + cell / 2, c * cell + cell / 2
        d.line([cx, cy, cx + dc * cell / 2, cy + dr * cell / 2], fill=(0, 0, 0), width=max(1, cell // 5))
    d.text((2, h * cell + 1), f"{replay.get('sim', '')}  step {frame['t']}", fill=(0, 0, 0))
    return img


def write_gif(replay: Mapping[str, Any], path: Path, max_frames: int = 250, frame_ms: int = 80) -> Path:
    """An animated GIF of (at most ``max_frames`` evenly spaced) frames."""
    frames = replay["frames"]
    cell = max(3, min(12, 480 // max(int(replay["height"]), int(replay["width"]), 1)))
    idx = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), max_frames)).round().astype(int))
    images = [render_frame(replay, frames[i], cell) for i in idx]
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0, optimize=False)
    return path


def write_html(replay: Mapping[str, Any], path: Path) -> Path:
    """A self-contained HTML player (no external URLs)."""
    data = json.dumps(replay, separators=(",", ":")).replace("</", "<\\/")
    Path(path).write_text(_HTML.replace("__TITLE__", str(replay.get("sim", "replay"))).replace("__DATA__", data))
    return Path(path)


_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>replay: __TITLE__</title>
<style>body{font-family:sans-serif;margin:12px;background:#fafaf7}#wrap{display:flex;gap:16px}
canvas{border:1px solid #999;image-rendering:pixelated}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}#ctl button{margin-right:4px}</style></head>
<body><h3>replay: __TITLE__</h3>
<div id="ctl"><button id="play">play</button><button id="prev">&lt; step</button><button id="next">step &gt;</button>
<input id="slider" type="range" min="0" value="0" style="width:320px"> <span id="lbl"></span>
speed <select id="speed"><option value="200">slow</option><option value="60" selected>normal</option>
<option value="10">fast</option></select></div>
<div id="wrap"><canvas id="cv"></canvas><div><b>agents</b> (row, col, facing, frozen, inventory)
<table id="agents"></table><b>objects with stock</b><table id="objs"></table></div></div>
<script id="replay-data" type="application/json">__DATA__</script>
<script>
const R=JSON.parse(document.getElementById('replay-data').textContent);
const F=R.frames, cv=document.getElementById('cv'), cx=cv.getContext('2d');
const cell=Math.max(4,Math.min(14,Math.floor(640/Math.max(R.height,R.width))));
cv.width=R.width*cell; cv.height=R.height*cell;
const ORI=['up','down','left','right'], D=[[-1,0],[1,0],[0,-1],[0,1]];
const GC=['#2878ff','#ff8c00','#00b450','#c800c8'];
function kc(n){const fx={altar:'#dc283c',mine_red:'#aa3c28',generator_red:'#e6961e',block:'#785a3c'};
 if(fx[n])return fx[n];let h=0;for(const ch of n)h=(h*31+ch.charCodeAt(0))%16777215;
 return 'rgb('+(80+h%150)+','+(80+(h>>8)%150)+','+(80+(h>>16)%150)+')';}
function inv(o){return Object.entries(o).map(([k,v])=>k+':'+v).join(' ');}
let i=0,timer=null;const sl=document.getElementById('slider');sl.max=F.length-1;
function draw(){const f=F[i];cx.fillStyle='#f5f5f0';cx.fillRect(0,0,cv.width,cv.height);cx.fillStyle='#5a5a5a';
 for(const [r,c] of R.walls)cx.fillRect(c*cell,r*cell,cell,cell);
 for(const [r,c,n,s] of f.objects){cx.fillStyle=kc(n);cx.fillRect(c*cell+1,r*cell+1,cell-2,cell-2);
  if(Object.keys(s).length){cx.strokeStyle='#fff';cx.strokeRect(c*cell+1,r*cell+1,cell-2,cell-2);}}
 f.agents.forEach(([r,c,o,fr,g,iv],a)=>{cx.fillStyle=fr?'#a0a0a0':GC[g%GC.length];cx.beginPath();
  cx.arc(c*cell+cell/2,r*cell+cell/2,cell/2-1,0,7);cx.fill();cx.strokeStyle='#000';cx.lineWidth=Math.max(1,cell/5);
  cx.beginPath();cx.moveTo(c*cell+cell/2,r*cell+cell/2);cx.lineTo(c*cell+cell/2+D[o%4][1]*cell/2,r*cell+cell/2+D[o%4][0]*cell/2);cx.stroke();});
 let h='<tr><th>#</th><th>row</th><th>col</th><th>facing</th><th>frozen</th><th>inventory</th></tr>';
 f.agents.forEach(([r,c,o,fr,g,iv],a)=>{h+='<tr><td>'+a+'</td><td>'+r+'</td><td>'+c+'</td><td>'+ORI[o%4]+'</td><td>'+(fr?'yes':'')+'</td><td style="text-align:left">'+inv(iv)+'</td></tr>';});
 document.getElementById('agents').innerHTML=h;
 let o='<tr><th>object</th><th>row</th><th>col</th><th>stock</th></tr>';
 for(const [r,c,n,s] of f.objects)if(Object.keys(s).length)o+='<tr><td>'+n+'</td><td>'+r+'</td><td>'+c+'</td><td style="text-align:left">'+inv(s)+'</td></tr>';
 document.getElementById('objs').innerHTML=o;sl.value=i;
 document.getElementById('lbl').textContent='frame '+(i+1)+'/'+F.length+'  step '+f.t;}
function go(k){i=Math.max(0,Math.min(F.length-1,k));draw();}
function stop(){clearInterval(timer);timer=null;document.getElementById('play').textContent='play';}
document.getElementById('play').onclick=()=>{if(timer){stop();return;}
 document.getElementById('play').textContent='pause';
 timer=setInterval(()=>{if(i>=F.length-1){stop();return;}go(i+1);},+document.getElementById('speed').value);};
document.getElementById('prev').onclick=()=>{stop();go(i-1);};document.getElementById('next').onclick=()=>{stop();go(i+1);};
sl.oninput=()=>{stop();go(+sl.value);};draw();
</script></body></html>
"""
