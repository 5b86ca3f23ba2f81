"""The simulator's inner loops: one step of every env (observations are in obs_kernel.py).

Plain Python over struct-of-arrays state (all envs at once), compiled with numba when it is installed
(``pip install numba``); without numba the same code runs as (slow) Python, so results never depend on it.
Array conventions (E envs, N agents per env, C converters per env, R items, K object kinds):
``cell_obj[E,H,W]`` object kind or -1, ``cell_conv[E,H,W]`` converter slot or -1, ``cell_agent[E,H,W]`` agent or -1.
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional: it only changes speed
    from numba import njit as _numba_njit

    def njit(fn):
        return _numba_njit(cache=True, nogil=True)(fn)

    def njit_inline(fn):
        return _numba_njit(cache=True, nogil=True, inline="always")(fn)

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba

    def njit(fn):
        return fn

    njit_inline = njit
    HAVE_NUMBA = False

# Action type indices (alphabetical, as legacy).
ATTACK, GET_ITEMS, MOVE, NOOP, PUT_ITEMS, ROTATE, SWAP = range(7)
NUM_ACTION_TYPES = 7
# Orientation: Up 0, Down 1, Left 2, Right 3; forward deltas and the agent's relative-left deltas.
DR = np.array([-1, 1, 0, 0], dtype=np.int64)
DC = np.array([0, 0, -1, 1], dtype=np.int64)
LEFT_DR = np.array([0, 0, 1, -1], dtype=np.int64)
LEFT_DC = np.array([-1, 1, 0, 0], dtype=np.int64)

# Per-agent stat layout: item blocks of R entries, then action blocks of 7, then misc, then swaps by object kind.
B_GET, B_GAINED, B_LOST, B_PUT, B_STEAL = range(5)  # times R
M_FROZEN, M_INVALID, M_PENALTY = 0, 1, 2
M_MOVE_DIR = 3  # 4 entries
M_ROT = 7  # 4 entries
M_SEQROT, M_HIT, M_HIT_BY, M_BLOCKED, M_WASTED, M_FRIENDLY, M_SWAP_AGENT, M_MAX_STILL = 11, 12, 13, 14, 15, 16, 17, 18
NUM_MISC = 19
# Per-env game stat layout (then R "<item>.consumed" and R "<item>.produced" entries, summed over converters).
G_TOKENS_WRITTEN, G_TOKENS_DROPPED, G_TOKENS_FREE, G_CONVERSIONS, G_BLOCKED_FULL = range(5)
G_BLOCKED_INPUT, G_CONV_STARTED, G_COOLDOWN_STARTED, G_COOLDOWN_DONE = 5, 6, 7, 8
NUM_GAME_STATS = 9

# Observation feature ids (legacy).
F_TYPE, F_GROUP, F_FROZEN, F_ORI, F_COLOR, F_CONVERTING, F_SWAPPABLE = 0, 1, 3, 4, 5, 6, 7
F_COMPLETION, F_LAST_ACTION, F_LAST_ARG, F_LAST_REWARD, F_INV = 8, 9, 10, 11, 15


@njit
def rng_next(rng, e):
    """xorshift32 on an int64 slot (explicit per-env state; identical with and without numba)."""
    x = rng[e]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    rng[e] = x
    return x


@njit
def add_inv(inv, e, a, item, delta, limits, stats, R):
    """Clamp-add ``delta`` of ``item`` to agent ``a``; record gained/lost; return the applied delta."""
    cur = inv[e, a, item]
    new = cur + delta
    if new < 0:
        new = 0
    if new > limits[item]:
        new = limits[item]
    applied = new - cur
    inv[e, a, item] = new
    if applied > 0:
        stats[e, a, B_GAINED * R + item] += applied
    elif applied < 0:
        stats[e, a, B_LOST * R + item] -= applied
    return applied


@njit
def maybe_start(e, ci, step, conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out, obj_ticks,
                game_stats):
    """Start a conversion if the converter is idle, below max output and holds every input."""
    if conv_phase[e, ci] != 0:
        return
    k = conv_kind[e, ci]
    R = obj_in.shape[1]
    if obj_max_out[k] >= 0:
        total = 0
        for i in range(R):
            if obj_out[k, i] > 0:
                total += conv_inv[e, ci, i]
        if total >= obj_max_out[k]:
            game_stats[e, G_BLOCKED_FULL] += 1
            return
    for i in range(R):
        if conv_inv[e, ci, i] < obj_in[k, i]:
            game_stats[e, G_BLOCKED_INPUT] += 1
            return
    for i in range(R):
        conv_inv[e, ci, i] -= obj_in[k, i]
        game_stats[e, NUM_GAME_STATS + i] += obj_in[k, i]
    game_stats[e, G_CONV_STARTED] += 1
    conv_phase[e, ci] = 1
    conv_timer[e, ci] = step + obj_ticks[k]


@njit
def fire_events(e, step, conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out, obj_ticks,
                obj_cooldown, game_stats):
    """Finish due conversions (add outputs, start cooldown) and end due cooldowns (then try to start)."""
    R = obj_in.shape[1]
    for ci in range(conv_kind.shape[1]):
        ph = conv_phase[e, ci]
        if ph <= 0 or conv_timer[e, ci] > step:
            continue
        k = conv_kind[e, ci]
        if ph == 1:
            for i in range(R):
                v = conv_inv[e, ci, i] + obj_out[k, i]
                conv_inv[e, ci, i] = 255 if v > 255 else v
                game_stats[e, NUM_GAME_STATS + R + i] += obj_out[k, i]
            game_stats[e, G_CONVERSIONS] += 1
            if obj_cooldown[k] > 0:
                game_stats[e, G_COOLDOWN_STARTED] += 1
                conv_phase[e, ci] = 2
                conv_timer[e, ci] = step + obj_cooldown[k]
                continue
        else:
            game_stats[e, G_COOLDOWN_DONE] += 1
        conv_phase[e, ci] = 0
        maybe_start(e, ci, step, conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out,
                    obj_ticks, game_stats)


@njit
def start_all(e, n, conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out, obj_ticks,
              game_stats):
    """Episode start: every converter of env ``e`` tries to start a conversion at step 0."""
    for ci in range(n):
        maybe_start(e, ci, 0, conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out, obj_ticks,
                    game_stats)


@njit
def find_attack_target(e, r, c, o, arg, cell_agent):
    """The arg-th agent among the 9 cells ahead (rows at distance 1..3: centre, left, right); else the last one."""
    H = cell_agent.shape[1]
    W = cell_agent.shape[2]
    found = 0
    last = -1
    for d in range(1, 4):
        for side in range(3):
            off = 0 if side == 0 else (1 if side == 1 else -1)
            rr = r + DR[o] * d + LEFT_DR[o] * off
            cc = c + DC[o] * d + LEFT_DC[o] * off
            if rr < 0 or rr >= H or cc < 0 or cc >= W:
                continue
            t = cell_agent[e, rr, cc]
            if t >= 0:
                if found == arg:
                    return t
                last = t
                found += 1
    return last


@njit
def do_attack(e, a, arg, agent_r, agent_c, agent_ori, agent_frozen, inv, cell_agent, limits, att_consume,
              att_defense, freeze_duration, stats, R, S0):
    for i in range(R):
        if inv[e, a, i] < att_consume[i]:
            return False
    t = find_attack_target(e, agent_r[e, a], agent_c[e, a], agent_ori[e, a], arg, cell_agent)
    if t < 0:
        return False
    defended = False
    for i in range(R):
        if att_defense[i] > 0:
            defended = True
            if inv[e, t, i] < att_defense[i]:
                defended = False
                break
    if defended:
        for i in range(R):
            if att_defense[i] > 0:
                add_inv(inv, e, t, i, -att_defense[i], limits, stats, R)
        stats[e, a, S0 + M_BLOCKED] += 1
    elif agent_frozen[e, t] > 0:
        agent_frozen[e, t] = freeze_duration
        stats[e, a, S0 + M_WASTED] += 1
    else:
        agent_frozen[e, t] = freeze_duration
        for i in range(R):
            amt = inv[e, t, i]
            if amt > 0:
                got = add_inv(inv, e, a, i, amt, limits, stats, R)
                if got > 0:
                    add_inv(inv, e, t, i, -got, limits, stats, R)
                    stats[e, a, B_STEAL * R + i] += got
        # one group: every hit is same-group, recorded (as legacy) only as friendly fire, not as hit / hit_by
        stats[e, a, S0 + M_FRIENDLY] += 1
    for i in range(R):
        if att_consume[i] > 0:
            add_inv(inv, e, a, i, -att_consume[i], limits, stats, R)
    return True


@njit
def front_cell(r, c, o, H, W):
    fr = r + DR[o]
    fc = c + DC[o]
    fr = 0 if fr < 0 else (H - 1 if fr >= H else fr)
    fc = 0 if fc < 0 else (W - 1 if fc >= W else fc)
    return fr, fc


@njit
def do_converter_action(e, a, is_get, fr, fc, step, inv, cell_conv, conv_kind, conv_inv, conv_phase, conv_timer,
                        obj_in, obj_out, obj_max_out, obj_ticks, limits, stats, game_stats, R):
    """get_items (take every output item) or put_items (deposit up to each recipe input) with the front converter."""
    ci = cell_conv[e, fr, fc]
    if ci < 0:
        return False
    k = conv_kind[e, ci]
    moved = 0
    for i in range(R):
        if is_get:
            if obj_out[k, i] > 0 and conv_inv[e, ci, i] > 0:
                got = add_inv(inv, e, a, i, conv_inv[e, ci, i], limits, stats, R)
                if got > 0:
                    conv_inv[e, ci, i] -= got
                    stats[e, a, B_GET * R + i] += got
                    moved += got
        elif obj_in[k, i] > 0:
            amt = min(obj_in[k, i], inv[e, a, i], 255 - conv_inv[e, ci, i])
            if amt > 0:
                add_inv(inv, e, a, i, -amt, limits, stats, R)
                conv_inv[e, ci, i] += amt
                stats[e, a, B_PUT * R + i] += amt
                moved += amt
    if moved > 0:
        maybe_start(e, ci, step, conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out,
                    obj_ticks, game_stats)
        return True
    return False


@njit
def do_move_or_swap(e, a, t, arg, agent_r, agent_c, agent_ori, agent_frozen, cell_obj, cell_agent, obj_swappable,
                    stats, S0):
    H = cell_agent.shape[1]
    W = cell_agent.shape[2]
    r = agent_r[e, a]
    c = agent_c[e, a]
    o = agent_ori[e, a]
    if t == MOVE:
        d = o if arg == 0 else (o ^ 1)
        nr, nc = front_cell(r, c, d, H, W)
        if cell_agent[e, nr, nc] >= 0 or cell_obj[e, nr, nc] >= 0:
            return False
        stats[e, a, S0 + M_MOVE_DIR + d] += 1
    else:  # swap
        nr, nc = front_cell(r, c, o, H, W)
        if nr == r and nc == c:
            return False
        k = cell_obj[e, nr, nc]
        if k >= 0:
            if not obj_swappable[k]:
                return False
            cell_obj[e, r, c] = k
            cell_obj[e, nr, nc] = -1
            stats[e, a, S0 + NUM_MISC + k] += 1
        else:
            other = cell_agent[e, nr, nc]
            if other < 0 or agent_frozen[e, other] <= 0:
                return False
            cell_agent[e, r, c] = other
            agent_r[e, other] = r
            agent_c[e, other] = c
            stats[e, a, S0 + M_SWAP_AGENT] += 1
            cell_agent[e, nr, nc] = a
            agent_r[e, a] = nr
            agent_c[e, a] = nc
            return True
    cell_agent[e, r, c] = -1
    cell_agent[e, nr, nc] = a
    agent_r[e, a] = nr
    agent_c[e, a] = nc
    return True


@njit
def step_envs(actions, act_type, act_arg, enabled, env_step, rng, order, agent_r, agent_c, agent_ori, agent_frozen,
              inv, last_action, last_arg, agent_value, rewards, ep_return, cell_obj, cell_conv, cell_agent,
              conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out, obj_ticks, obj_cooldown,
              obj_swappable, limits, reward_w, reward_cap, att_consume, att_defense, freeze_duration, penalty,
              stats, game_stats, prev_r, prev_c, still):
    """Advance every env by one step: events, shuffled attacks, shuffled other actions, then rewards."""
    E, N, R = inv.shape
    S0 = 5 * R + 2 * NUM_ACTION_TYPES
    H = cell_agent.shape[1]
    W = cell_agent.shape[2]
    n_flat = act_type.shape[0]
    for e in range(E):
        env_step[e] += 1
        step = env_step[e]
        fire_events(e, step, conv_kind, conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out, obj_ticks,
                    obj_cooldown, game_stats)
        for i in range(N):
            order[i] = i
        for i in range(N - 1, 0, -1):
            j = rng_next(rng, e) % (i + 1)
            tmp = order[i]
            order[i] = order[j]
            order[j] = tmp
        for a in range(N):
            rewards[e * N + a] = 0.0
        for pas in range(2):
            for idx in range(N):
                a = order[idx]
                flat = actions[e * N + a]
                if flat < 0 or flat >= n_flat:
                    if pas == 1:
                        stats[e, a, S0 + M_INVALID] += 1
                        rewards[e * N + a] -= penalty
                        last_action[e, a] = 255
                        last_arg[e, a] = 0
                        if agent_frozen[e, a] > 0:
                            agent_frozen[e, a] -= 1
                    continue
                t = act_type[flat]
                if (t == ATTACK) != (pas == 0):
                    continue
                arg = act_arg[flat]
                prev = last_action[e, a]
                last_action[e, a] = t
                last_arg[e, a] = arg
                if agent_frozen[e, a] > 0:
                    agent_frozen[e, a] -= 1
                    stats[e, a, S0 + M_FROZEN] += 1
                    continue
                ok = False
                if enabled[t]:
                    if t == NOOP:
                        ok = True
                    elif t == ROTATE:
                        agent_ori[e, a] = arg
                        stats[e, a, S0 + M_ROT + arg] += 1
                        if prev == ROTATE:
                            stats[e, a, S0 + M_SEQROT] += 1
                        ok = True
                    elif t == MOVE or t == SWAP:
                        ok = do_move_or_swap(e, a, t, arg, agent_r, agent_c, agent_ori, agent_frozen, cell_obj,
                                             cell_agent, obj_swappable, stats, S0)
                    elif t == GET_ITEMS or t == PUT_ITEMS:
                        fr, fc = front_cell(agent_r[e, a], agent_c[e, a], agent_ori[e, a], H, W)
                        ok = do_converter_action(e, a, t == GET_ITEMS, fr, fc, step, inv, cell_conv, conv_kind,
                                                 conv_inv, conv_phase, conv_timer, obj_in, obj_out, obj_max_out,
                                                 obj_ticks, limits, stats, game_stats, R)
                    else:
                        ok = do_attack(e, a, arg, agent_r, agent_c, agent_ori, agent_frozen, inv, cell_agent, limits,
                                       att_consume, att_defense, freeze_duration, stats, R, S0)
                # longest run of acting steps without a change of cell (a sign of a collapsed policy)
                if agent_r[e, a] == prev_r[e, a] and agent_c[e, a] == prev_c[e, a]:
                    still[e, a] += 1
                    if still[e, a] > stats[e, a, S0 + M_MAX_STILL]:
                        stats[e, a, S0 + M_MAX_STILL] = still[e, a]
                else:
                    still[e, a] = 0
                prev_r[e, a] = agent_r[e, a]
                prev_c[e, a] = agent_c[e, a]
                if ok:
                    stats[e, a, 5 * R + t] += 1
                else:
                    stats[e, a, 5 * R + NUM_ACTION_TYPES + t] += 1
                    stats[e, a, S0 + M_PENALTY] += 1  # a count of failed actions, as legacy
                    rewards[e * N + a] -= penalty
        for a in range(N):
            v = 0.0
            for i in range(R):
                if reward_w[e, i] != 0.0:
                    x = reward_w[e, i] * inv[e, a, i]
                    v += x if x < reward_cap[e, i] else reward_cap[e, i]
            rewards[e * N + a] += v - agent_value[e, a]
            agent_value[e, a] = v
            ep_return[e, a] += rewards[e * N + a]
