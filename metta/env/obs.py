"""Observation token layout (legacy order and feature ids) and the dense box view.

Token = (location, feature_id, value); location = (row << 4) | col inside the 11x11 window, the observer at 0x55;
padding tokens are 0xFF in all three bytes.

Box encoding (the one encoding, shared with the policies' input in :mod:`metta.agent.box`): a uint8 box of
``num_features + 1`` channels; channel f holds the value of the token with feature f at that cell, and the extra last
channel is a presence flag (1 where any valid token sits). The presence channel makes every object visible, including
an agent of type 0, group 0, facing up with no items, which is all zeros in the feature channels (the legacy box could
not tell it from empty floor). Padding, features >= num_features and out-of-window tokens are ignored.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

PAD = 0xFF
NUM_TOKENS = 200
WINDOW = 11
FEATURE_NAMES_BASE = (
    "type_id",
    "agent:group",
    "hp",
    "agent:frozen",
    "agent:orientation",
    "agent:color",
    "converting",
    "swappable",
    "episode_completion_pct",
    "last_action",
    "last_action_arg",
    "last_reward",
    "agent:glyph",
    "resource_rewards",
    "agent:visitation_counts",
)
# Divisors that normalise each feature channel to about [0, 1] (the Hydra-era values); inv:<item> channels use 100.
FEATURE_DIVISORS_BASE = (1, 10, 30, 1, 1, 255, 1, 1, 255, 10, 10, 100, 255, 255, 1000)
INV_DIVISOR = 100
INV_FEATURE_OFFSET = 15
LAST_REWARD_OFFSET = 128
LAST_REWARD_SCALE = 100.0


def feature_names(items: tuple[str, ...] | list[str]) -> list[str]:
    return [*FEATURE_NAMES_BASE, *(f"inv:{it}" for it in items)]


def feature_divisors(num_features: int) -> np.ndarray:
    """Divisor per feature id for ``num_features`` features (inventory channels and beyond use 100)."""
    extra = max(0, num_features - len(FEATURE_DIVISORS_BASE))
    return np.array([*FEATURE_DIVISORS_BASE[:num_features], *([INV_DIVISOR] * extra)], dtype=np.float32)


def encode_last_reward(rewards: float | np.ndarray) -> np.ndarray:
    """last_reward token value: clip(round(100·r) + 128, 0, 255) (signed, saturating; 128 means 0)."""
    scaled = np.rint(np.asarray(rewards, dtype=np.float64) * LAST_REWARD_SCALE) + LAST_REWARD_OFFSET
    return np.clip(scaled, 0, 255).astype(np.uint8)


def decode_last_reward(value: int | np.ndarray) -> np.ndarray | float:
    return (np.asarray(value, dtype=np.float64) - LAST_REWARD_OFFSET) / LAST_REWARD_SCALE


@lru_cache(maxsize=4)
def window_order(size: int = WINDOW) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dr, dc, loc) of the window cells in legacy order: by Manhattan distance, then row, then -dc before +dc."""
    rad = size // 2
    dr, dc = [], []
    for d in range(0, 2 * rad + 1):
        for r in range(-d, d + 1):
            c = d - abs(r)
            if abs(r) > rad or c > rad:
                continue
            dr.append(r)
            dc.append(-c)
            if c != 0:
                dr.append(r)
                dc.append(c)
    dr_a = np.array(dr, dtype=np.int64)
    dc_a = np.array(dc, dtype=np.int64)
    loc = ((dr_a + rad) << 4) | (dc_a + rad)
    for arr in (dr_a, dc_a, loc):
        arr.setflags(write=False)
    return dr_a, dc_a, loc


def tokens_to_box(obs: np.ndarray, num_features: int = 25) -> np.ndarray:
    """uint8 tokens ``[..., T, 3]`` -> uint8 box ``[..., num_features + 1, 11, 11]`` (see the module doc)."""
    obs = np.asarray(obs)
    if obs.dtype != np.uint8 or obs.ndim < 2 or obs.shape[-1] != 3:
        raise ValueError(f"tokens_to_box expects uint8 [..., T, 3] tokens, got {obs.dtype} {obs.shape}")
    lead = obs.shape[:-2]
    flat = obs.reshape(-1, obs.shape[-2], 3)
    box = np.zeros((flat.shape[0], num_features + 1, WINDOW, WINDOW), dtype=np.uint8)
    loc = flat[..., 0].astype(np.int64)
    feat = flat[..., 1].astype(np.int64)
    row, col = loc >> 4, loc & 15
    valid = (loc != PAD) & (feat < num_features) & (row < WINDOW) & (col < WINDOW)
    b, t = np.nonzero(valid)
    box[b, feat[b, t], row[b, t], col[b, t]] = flat[b, t, 2]
    box[b, num_features, row[b, t], col[b, t]] = 1
    return box.reshape(*lead, num_features + 1, WINDOW, WINDOW)


def decode_tokens(tokens: np.ndarray) -> dict[tuple[int, int], dict[int, int]]:
    """One agent's tokens [T, 3] -> {(dr, dc): {feature_id: value}} relative to the observer (padding skipped)."""
    out: dict[tuple[int, int], dict[int, int]] = {}
    for loc, feat, val in np.asarray(tokens).tolist():
        if loc == PAD:
            continue
        key = ((loc >> 4) - WINDOW // 2, (loc & 15) - WINDOW // 2)
        out.setdefault(key, {})[feat] = val
    return out
