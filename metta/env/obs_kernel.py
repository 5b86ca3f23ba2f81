"""The observation kernel: legacy-ordered uint8 tokens for every agent of every env (see metta.env.obs)."""

from __future__ import annotations

import numpy as np

from metta.env.kernels import (
    F_COLOR,
    F_COMPLETION,
    F_CONVERTING,
    F_FROZEN,
    F_GROUP,
    F_INV,
    F_LAST_ACTION,
    F_LAST_ARG,
    F_LAST_REWARD,
    F_ORI,
    F_SWAPPABLE,
    F_TYPE,
    G_TOKENS_DROPPED,
    G_TOKENS_FREE,
    G_TOKENS_WRITTEN,
    njit,
    njit_inline,
)


@njit_inline
def emit(o, n, dropped, loc, f, v):
    """Append one token if there is room, else count it as dropped."""
    if n < o.shape[0]:
        o[n, 0] = loc
        o[n, 1] = f
        o[n, 2] = v
        return n + 1, dropped
    return n, dropped + 1


@njit
def write_obs(obs, env_step, env_max_steps, win_dr, win_dc, win_loc, agent_r, agent_c, agent_ori, agent_frozen,
              agent_group, inv, last_action, last_arg, last_reward_byte, cell_obj, cell_conv, cell_agent, conv_kind,
              conv_inv, conv_phase, obj_type_id, obj_color, obj_swappable, obj_is_conv, obj_items, obj_nitems,
              game_stats):
    """Write legacy-ordered tokens (globals, then cells by distance) into ``obs[E*N, T, 3]``; pad the rest (0xFF)."""
    E, N, R = inv.shape
    T = obs.shape[1]
    H = cell_agent.shape[1]
    W = cell_agent.shape[2]
    ncell = win_dr.shape[0]
    rad = 0
    for k in range(ncell):
        rad = max(rad, abs(win_dr[k]))
    for e in range(E):
        ms = env_max_steps[e]
        comp = int(np.floor(env_step[e] * 255.0 / ms + 0.5)) if ms > 0 else 0
        if comp > 255:
            comp = 255
        written_e = 0
        dropped_e = 0
        for a in range(N):
            row = e * N + a
            o = obs[row]
            n = 0
            d = 0
            n, d = emit(o, n, d, 0x55, F_COMPLETION, comp)
            n, d = emit(o, n, d, 0x55, F_LAST_ACTION, last_action[e, a])
            n, d = emit(o, n, d, 0x55, F_LAST_ARG, last_arg[e, a])
            n, d = emit(o, n, d, 0x55, F_LAST_REWARD, last_reward_byte[row])
            ar = agent_r[e, a]
            ac = agent_c[e, a]
            inside = ar - rad >= 0 and ar + rad < H and ac - rad >= 0 and ac + rad < W
            for k in range(ncell):
                r = ar + win_dr[k]
                c = ac + win_dc[k]
                if not inside and (r < 0 or r >= H or c < 0 or c >= W):
                    continue
                loc = win_loc[k]
                g = cell_agent[e, r, c]
                if g >= 0:
                    n, d = emit(o, n, d, loc, F_TYPE, 0)
                    n, d = emit(o, n, d, loc, F_GROUP, agent_group[e, g])
                    n, d = emit(o, n, d, loc, F_FROZEN, 1 if agent_frozen[e, g] > 0 else 0)
                    n, d = emit(o, n, d, loc, F_ORI, agent_ori[e, g])
                    n, d = emit(o, n, d, loc, F_COLOR, 0)
                    for i in range(R):
                        if inv[e, g, i] > 0:
                            n, d = emit(o, n, d, loc, F_INV + i, inv[e, g, i])
                    continue
                kind = cell_obj[e, r, c]
                if kind < 0:
                    continue
                n, d = emit(o, n, d, loc, F_TYPE, obj_type_id[kind])
                if obj_is_conv[kind]:
                    ci = cell_conv[e, r, c]
                    n, d = emit(o, n, d, loc, F_COLOR, obj_color[kind])
                    n, d = emit(o, n, d, loc, F_CONVERTING, 1 if conv_phase[e, ci] != 0 else 0)
                    for j in range(obj_nitems[kind]):
                        i = obj_items[kind, j]
                        if conv_inv[e, ci, i] > 0:
                            n, d = emit(o, n, d, loc, F_INV + i, conv_inv[e, ci, i])
                elif obj_swappable[kind]:
                    n, d = emit(o, n, d, loc, F_SWAPPABLE, 1)
            for j in range(n, T):
                o[j, 0] = 0xFF
                o[j, 1] = 0xFF
                o[j, 2] = 0xFF
            written_e += n
            dropped_e += d
        game_stats[e, G_TOKENS_WRITTEN] += written_e
        game_stats[e, G_TOKENS_DROPPED] += dropped_e
        game_stats[e, G_TOKENS_FREE] += N * T - written_e
