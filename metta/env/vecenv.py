"""``VecEnv``: many arena env instances stepped together in one process (struct-of-arrays state).

Agent row ``i`` of every array belongs to env ``i // num_agents``. Episodes auto-reset: the step that ends an
episode returns that transition's reward with ``dones`` True and the *next* episode's first observation; no
phantom transition. Episode ``k`` of env ``j`` uses seed ``derive_seed(seed, j, k)`` for its map, shuffles and
(first episode, with ``desync_episodes``) its length; the seed is reported in :class:`EpisodeInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metta.common.errors import EnvConfigError
from metta.common.seeding import derive_seed, make_rng
from metta.env import kernels as K
from metta.env.config import EnvConfig
from metta.env.curriculum import CurriculumConfig, RandomSampler, make_sampler, short_task_name
from metta.env.mapgen import generate_map, grid_shape
from metta.env.multitask import TaskSet, build_task_set, place_map
from metta.env.obs import NUM_TOKENS, WINDOW, encode_last_reward, window_order
from metta.env.obs_kernel import write_obs


@dataclass
class EpisodeInfo:
    """Summary of one finished episode of one env."""

    env_index: int
    seed: int
    steps: int
    agent_returns: np.ndarray
    agent_stats: list[dict[str, float]]
    game_stats: dict[str, float]
    max_steps: int = 0
    label: str = ""
    task: str = ""  # curriculum task (env config name); "" for a single-task env
    map_width: int = 0
    map_height: int = 0


class VecEnv:
    """Vectorised MettaGrid arena: ``reset()`` then ``step(actions)``; see docs/env.md.

    With a :class:`CurriculumConfig` every env draws its task at each episode start from the curriculum's sampler
    (and reports the episode's mean return to it); all tasks share one set of kernel tables (metta/env/multitask.py).
    """

    def __init__(self, cfg: EnvConfig | CurriculumConfig, num_envs: int, seed: int):
        self.sampler: RandomSampler | None = None
        if isinstance(cfg, CurriculumConfig):
            self.task_set: TaskSet = build_task_set(list(cfg.task_configs.values()), cfg.task_names)
            self.sampler = make_sampler(cfg)
        elif isinstance(cfg, EnvConfig):
            self.task_set = build_task_set([cfg], [""])
        else:
            raise EnvConfigError(f"VecEnv needs an EnvConfig, got {type(cfg).__name__}; use load_env_config(name)")
        if int(num_envs) < 1:
            raise EnvConfigError(f"num_envs = {num_envs!r}: must be >= 1")
        self.cfg = cfg
        self.game = self.task_set.cfgs[0].game  # shared settings (agents, freeze, penalty) are equal across tasks
        self.tables = self.task_set.tables
        self.num_envs = int(num_envs)
        self.num_agents = self.game.num_agents
        self.total_agents = self.num_envs * self.num_agents
        self.seed = int(seed)
        self.action_names = list(self.tables.action_names)
        self.num_actions = len(self.action_names)
        self.obs_shape = (NUM_TOKENS, 3)
        self.obs_window = (WINDOW, WINDOW)
        self.num_features = K.F_INV + self.tables.num_items
        self.height, self.width = self.task_set.height, self.task_set.width
        self._alloc()
        self._started = False
        self._sampler_rng = make_rng(derive_seed(self.seed, 0x5A3))  # learning-progress draws of active tasks
        self._stat_fold = _fold_matrix(self.tables.stat_names)
        self._object_fold = _fold_matrix([f"objects.{n}" for n in self.tables.object_names])

    # ----------------------------------------------------------------------------------------------- state
    def _alloc(self) -> None:
        e, n, r = self.num_envs, self.num_agents, self.tables.num_items
        h, w = self.height, self.width
        c = max(self.task_set.converters, 1)
        i64 = np.int64
        self.cell_obj = np.full((e, h, w), -1, dtype=np.int16)
        if c >= 2**15:
            raise EnvConfigError(f"game.map: {c} converters per env; at most {2**15 - 1} are supported")
        self.cell_conv = np.full((e, h, w), -1, dtype=np.int16)  # int16 keeps the grids cache-friendly
        self.cell_agent = np.full((e, h, w), -1, dtype=np.int16)
        self.agent_r = np.zeros((e, n), i64)
        self.agent_c = np.zeros((e, n), i64)
        self.agent_ori = np.zeros((e, n), i64)
        self.agent_frozen = np.zeros((e, n), i64)
        self.agent_group = np.zeros((e, n), i64)
        self.inv = np.zeros((e, n, r), i64)
        self.last_action = np.zeros((e, n), i64)
        self.last_arg = np.zeros((e, n), i64)
        self.agent_value = np.zeros((e, n), np.float64)
        self.ep_return = np.zeros((e, n), np.float64)
        self.stats = np.zeros((e, n, len(self.tables.stat_names)), np.float64)
        self.game_stats = np.zeros((e, len(self.tables.game_stat_names)), np.float64)
        self.prev_r = np.zeros((e, n), i64)  # cell at the agent's previous acting step (max_steps_without_motion)
        self.prev_c = np.zeros((e, n), i64)
        self.still = np.zeros((e, n), i64)
        self.object_counts = np.zeros((e, len(self.tables.object_names)), i64)
        self.conv_kind = np.zeros((e, c), i64)
        self.conv_r = np.zeros((e, c), i64)
        self.conv_c = np.zeros((e, c), i64)
        self.conv_inv = np.zeros((e, c, r), i64)
        self.conv_phase = np.full((e, c), -1, i64)  # -1 = unused slot (never fires)
        self.conv_timer = np.zeros((e, c), i64)
        self.env_step = np.zeros(e, i64)
        self.env_max_steps = np.full(e, self.game.max_steps, i64)
        self.rng_state = np.ones(e, i64)
        self.episode_counter = np.zeros(e, i64)
        self.episode_seeds = np.zeros(e, i64)
        self.env_task = np.zeros(e, i64)
        self.reward_w = np.repeat(self.task_set.reward_w[:1], e, axis=0)  # [E, R] weights of each env's task
        self.reward_cap = np.repeat(self.task_set.reward_cap[:1], e, axis=0)
        self._order = np.zeros(n, i64)
        self._rewards = np.zeros(self.total_agents, np.float32)
        self._last_reward_byte = np.full(self.total_agents, 128, np.uint8)

    def _start_episode(self, e: int) -> None:
        t = self.tables
        seed = derive_seed(self.seed, e, int(self.episode_counter[e]))
        rng = make_rng(seed)
        task = 0 if self.sampler is None else self.sampler.sample(rng)  # first draw of the episode's generator
        game = self.task_set.cfgs[task].game
        local, agents = generate_map(game, rng)
        cell, counts = place_map(self.task_set, task, local)
        self.env_task[e] = task
        self.reward_w[e] = self.task_set.reward_w[task]
        self.reward_cap[e] = self.task_set.reward_cap[task]
        self.cell_obj[e] = cell
        self.cell_agent[e] = -1
        self.cell_agent[e, agents[:, 0], agents[:, 1]] = np.arange(self.num_agents)
        self.agent_r[e] = agents[:, 0]
        self.agent_c[e] = agents[:, 1]
        self.prev_r[e] = agents[:, 0]
        self.prev_c[e] = agents[:, 1]
        self.still[e] = 0
        self.agent_ori[e] = 0
        self.agent_frozen[e] = 0
        self.inv[e] = t.initial_inventory
        self.agent_value[e] = self.task_set.capped_value(task, self.inv[e].astype(np.float64))
        self.last_action[e] = 0
        self.last_arg[e] = 0
        self.ep_return[e] = 0.0
        self.stats[e] = 0.0
        self.game_stats[e] = 0.0
        self.object_counts[e] = counts
        self._init_converters(e, cell)
        self.env_step[e] = 0
        if game.desync_episodes and self.episode_counter[e] == 0:
            self.env_max_steps[e] = int(rng.integers(1, game.max_steps + 1))
        else:
            self.env_max_steps[e] = game.max_steps
        self.rng_state[e] = derive_seed(seed, 1) % 0xFFFFFFFE + 1
        self.episode_seeds[e] = seed
        self.episode_counter[e] += 1
        rows = slice(e * self.num_agents, (e + 1) * self.num_agents)
        self._last_reward_byte[rows] = encode_last_reward(0.0)

    def _init_converters(self, e: int, cell: np.ndarray) -> None:
        t = self.tables
        self.cell_conv[e] = -1
        self.conv_phase[e] = -1
        rr, cc = np.nonzero((cell >= 0) & t.obj_is_conv[np.maximum(cell, 0)])
        n = len(rr)
        kinds = cell[rr, cc].astype(np.int64)
        self.cell_conv[e, rr, cc] = np.arange(n)
        self.conv_kind[e, :n] = kinds
        self.conv_r[e, :n] = rr
        self.conv_c[e, :n] = cc
        self.conv_inv[e] = 0
        self.conv_inv[e, :n] = t.obj_out[kinds] > 0
        self.conv_inv[e, :n] *= t.obj_initial[kinds][:, None]
        self.conv_phase[e, :n] = 0
        self.conv_timer[e] = 0
        K.start_all(e, n, *self._converters(), self.game_stats)  # counted, as legacy counts from construction

    def _converters(self) -> tuple[np.ndarray, ...]:
        """Converter state and recipe tables, in the order both kernels take them."""
        t = self.tables
        return (
            self.conv_kind,
            self.conv_inv,
            self.conv_phase,
            self.conv_timer,
            t.obj_in,
            t.obj_out,
            t.obj_max_out,
            t.obj_ticks,
        )

    # ----------------------------------------------------------------------------------------------- API
    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start a new episode in every env and return the first observations ``uint8 [total_agents, 200, 3]``.

        With ``seed`` the base seed is replaced and episode counters restart at 0 (a fully reproducible restart).
        """
        if seed is not None:
            self.seed = int(seed)
            self.episode_counter[:] = 0
            self._sampler_rng = make_rng(derive_seed(self.seed, 0x5A3))
        for e in range(self.num_envs):
            self._start_episode(e)
        self._started = True
        return self._observe()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[EpisodeInfo]]:
        """Apply one flat action per agent; return ``(obs, rewards, dones, infos)`` (see module doc)."""
        if not self._started:
            raise RuntimeError("VecEnv.step() called before reset()")
        acts = np.asarray(actions)
        if acts.shape != (self.total_agents,) or not np.issubdtype(acts.dtype, np.integer):
            raise ValueError(
                f"actions must be an integer array of shape ({self.total_agents},), got {acts.dtype} {acts.shape}"
            )
        acts = np.ascontiguousarray(acts, dtype=np.int64)
        t = self.tables
        rewards = self._rewards
        K.step_envs(
            acts,
            t.act_type,
            t.act_arg,
            t.enabled,
            self.env_step,
            self.rng_state,
            self._order,
            self.agent_r,
            self.agent_c,
            self.agent_ori,
            self.agent_frozen,
            self.inv,
            self.last_action,
            self.last_arg,
            self.agent_value,
            rewards,
            self.ep_return,
            self.cell_obj,
            self.cell_conv,
            self.cell_agent,
            *self._converters(),
            t.obj_cooldown,
            t.obj_swappable,
            t.limits,
            self.reward_w,
            self.reward_cap,
            t.att_consume,
            t.att_defense,
            self.game.agent.freeze_duration,
            float(self.game.agent.action_failure_penalty),
            self.stats,
            self.game_stats,
            self.prev_r,
            self.prev_c,
            self.still,
        )
        out_rewards = rewards.copy()
        self._last_reward_byte[:] = encode_last_reward(out_rewards)
        dones = np.zeros(self.total_agents, dtype=bool)
        infos: list[EpisodeInfo] = []
        for e in np.flatnonzero(self.env_step >= self.env_max_steps).tolist():
            infos.append(self._episode_info(e))
            dones[e * self.num_agents : (e + 1) * self.num_agents] = True
            self._start_episode(e)
        return self._observe(), out_rewards, dones, infos

    def _observe(self) -> np.ndarray:
        t = self.tables
        obs = np.empty((self.total_agents, NUM_TOKENS, 3), dtype=np.uint8)  # write_obs pads with 0xFF
        dr, dc, loc = window_order(WINDOW)
        write_obs(
            obs,
            self.env_step,
            self.env_max_steps,
            dr,
            dc,
            loc,
            self.agent_r,
            self.agent_c,
            self.agent_ori,
            self.agent_frozen,
            self.agent_group,
            self.inv,
            self.last_action,
            self.last_arg,
            self._last_reward_byte,
            self.cell_obj,
            self.cell_conv,
            self.cell_agent,
            self.conv_kind,
            self.conv_inv,
            self.conv_phase,
            t.obj_type_id,
            t.obj_color,
            t.obj_swappable,
            t.obj_is_conv,
            t.obj_items,
            t.obj_nitems,
            self.game_stats,
        )
        return obs

    def _episode_info(self, e: int) -> EpisodeInfo:
        keys, fold = self._stat_fold
        agent_stats = [dict(zip(keys, row, strict=True)) for row in (self.stats[e] @ fold).tolist()]
        game = dict(zip(self.tables.game_stat_names, self.game_stats[e].tolist(), strict=True))
        game["conversions.completed"] = game["conversions"]
        keys, fold = self._object_fold
        game.update(zip(keys, (self.object_counts[e] @ fold).tolist(), strict=True))
        task = int(self.env_task[e])
        cfg = self.task_set.cfgs[task]
        if self.sampler is not None:
            self.sampler.complete(task, float(self.ep_return[e].mean()), self._sampler_rng)
        h, w = grid_shape(cfg.game)
        return EpisodeInfo(
            env_index=e,
            seed=int(self.episode_seeds[e]),
            steps=int(self.env_step[e]),
            agent_returns=self.ep_return[e].astype(np.float32),
            agent_stats=agent_stats,
            game_stats=game,
            max_steps=int(self.env_max_steps[e]),
            label=cfg.label,
            task=self.task_set.names[task],
            map_width=int(w),
            map_height=int(h),
        )

    def curriculum_probs(self) -> dict[str, float]:
        """Current task probabilities by short task name (empty for a single-task env)."""
        if self.sampler is None:
            return {}
        return {short_task_name(n): float(p) for n, p in zip(self.task_set.names, self.sampler.probs(), strict=True)}

    def snapshot(self, env_index: int) -> dict[str, np.ndarray]:
        """Plain-array state of one env for replays: grid type ids (-1 empty, 0 agent), agents and converters."""
        e = int(env_index)
        t = self.tables
        cell = self.cell_obj[e].astype(np.int64)
        grid = np.where(cell >= 0, t.obj_type_id[np.maximum(cell, 0)], -1)
        grid[self.cell_agent[e] >= 0] = 0
        used = self.conv_phase[e] >= 0
        return {
            "step": np.array(self.env_step[e]),
            "max_steps": np.array(self.env_max_steps[e]),
            "grid": grid.astype(np.int16),
            "agent_row": self.agent_r[e].copy(),
            "agent_col": self.agent_c[e].copy(),
            "agent_orientation": self.agent_ori[e].copy(),
            "agent_frozen": self.agent_frozen[e].copy(),
            "agent_inventory": self.inv[e].copy(),
            "converter_row": self.conv_r[e][used].copy(),
            "converter_col": self.conv_c[e][used].copy(),
            "converter_type_id": t.obj_type_id[self.conv_kind[e][used]],
            "converter_inventory": self.conv_inv[e][used].copy(),
            "converter_converting": (self.conv_phase[e][used] > 0),
        }

    def set_inventory(self, env_index: int, agent: int, item: str, amount: int) -> None:
        """Test/scenario hook: set an agent's item count without producing a reward for the change."""
        i = self.tables.items.index(item)
        e = int(env_index)
        self.inv[e, agent, i] = int(amount)
        task = int(self.env_task[e])
        self.agent_value[e, agent] = float(self.task_set.capped_value(task, self.inv[e, agent].astype(np.float64)))

    def close(self) -> None:
        """Nothing to release (kept for gym-style callers)."""


def _fold_matrix(names: tuple[str, ...] | list[str]) -> tuple[list[str], np.ndarray]:
    """Unique names and a 0/1 matrix [len(names), unique] summing columns that share a name (the union kinds of
    one object name in a curriculum); ``values @ matrix`` gives the per-name totals."""
    keys = list(dict.fromkeys(names))
    fold = np.zeros((len(names), len(keys)))
    fold[np.arange(len(names)), [keys.index(n) for n in names]] = 1.0
    return keys, fold
