"""Map generation: a grid of rooms with randomly placed objects and agents, or an explicit layout.

Pure numpy; randomness comes from the ``np.random.Generator`` passed in (one per episode, from its seed).
"""

from __future__ import annotations

import math

import numpy as np

from metta.common.errors import EnvConfigError
from metta.env.config import GameConfig


def room_grid(n_rooms: int) -> tuple[int, int]:
    """(rows, cols) of the room grid: as square as possible, rows <= cols."""
    cols = math.ceil(math.sqrt(n_rooms))
    return math.ceil(n_rooms / cols), cols


def grid_shape(game: GameConfig) -> tuple[int, int]:
    m = game.map
    if m.layout is not None:
        return len(m.layout), len(m.layout[0])
    rows, cols = room_grid(game.num_agents // m.agents_per_room)
    h = rows * m.room_height + (rows - 1) * m.room_border_width + 2 * m.border_width
    w = cols * m.room_width + (cols - 1) * m.room_border_width + 2 * m.border_width
    return h, w


def converters_per_env(game: GameConfig) -> int:
    conv = {n for n, o in game.objects.items() if o.is_converter}
    m = game.map
    if m.layout is not None:
        return sum(1 for row in m.layout for ch in row if m.legend.get(ch) in conv)
    rooms = game.num_agents // m.agents_per_room
    return rooms * sum(c for n, c in m.objects.items() if n in conv)


def _kind_index(game: GameConfig, name: str) -> int:
    try:
        return list(game.objects).index(name)
    except ValueError:
        raise EnvConfigError(
            f"game.objects.{name} is missing: the map needs a {name!r} object (add it to game.objects)"
        ) from None


def generate_map(game: GameConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return ``cell_obj[H, W]`` (object kind index or -1) and ``agents[N, 2]`` (row, col) for one episode."""
    m = game.map
    h, w = grid_shape(game)
    cell = np.full((h, w), -1, dtype=np.int16)
    if m.layout is not None:
        agents = []
        for r, row in enumerate(m.layout):
            for c, ch in enumerate(row):
                if ch == "A":
                    agents.append((r, c))
                elif ch in m.legend:
                    cell[r, c] = _kind_index(game, m.legend[ch])
        return cell, np.array(agents, dtype=np.int64).reshape(-1, 2)
    n_rooms = game.num_agents // m.agents_per_room
    rows, cols = room_grid(n_rooms)
    if m.border_width > 0 or m.room_border_width > 0:
        cell[:, :] = _kind_index(game, "wall")
    symbols = np.concatenate(
        [np.full(cnt, _kind_index(game, name), dtype=np.int16) for name, cnt in m.objects.items()]
        + [np.full(m.agents_per_room, -2, dtype=np.int16)]
    )
    agents = []
    for room in range(rows * cols):
        r0 = m.border_width + (room // cols) * (m.room_height + m.room_border_width)
        c0 = m.border_width + (room % cols) * (m.room_width + m.room_border_width)
        cell[r0 : r0 + m.room_height, c0 : c0 + m.room_width] = -1
        if room >= n_rooms:
            continue
        picks = rng.choice(m.room_height * m.room_width, size=len(symbols), replace=False)
        rr = r0 + picks // m.room_width
        cc = c0 + picks % m.room_width
        is_obj = symbols >= 0
        cell[rr[is_obj], cc[is_obj]] = symbols[is_obj]
        agents.extend(zip(rr[~is_obj].tolist(), cc[~is_obj].tolist(), strict=True))
    return cell, np.array(agents, dtype=np.int64).reshape(-1, 2)
