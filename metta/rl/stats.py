"""Episode statistics → per-epoch metrics (legacy names: ``env_agent/<stat>``, ``env_game/<stat>``, ...)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np


def episode_metrics(infos: Iterable, task_name: str = "") -> dict[str, float]:
    """Average over the episodes that ended: per-agent-episode means of agent stats (missing = 0), game stats,
    the mean agent return (``overview/reward``), episode length, and the episode count."""
    infos = list(infos)
    if not infos:
        return {"overview/episodes": 0.0}
    agent_sums: dict[str, float] = defaultdict(float)
    game_sums: dict[str, float] = defaultdict(float)
    n_agent_eps = 0
    returns = []
    lengths = []
    for info in infos:
        n = len(info.agent_stats)
        n_agent_eps += n
        for stats in info.agent_stats:
            for k, v in stats.items():
                agent_sums[k] += float(v)
        for k, v in info.game_stats.items():
            game_sums[k] += float(v)
        returns.append(float(np.mean(info.agent_returns)))
        lengths.append(float(info.steps))
    out = {f"env_agent/{k}": v / max(1, n_agent_eps) for k, v in agent_sums.items()}
    out.update({f"env_game/{k}": v / len(infos) for k, v in game_sums.items()})
    reward = float(np.mean(returns))
    out["overview/reward"] = reward
    out["train/roll/ep_rew/mean"] = reward  # the name gym-style sweep files optimise: mean return of these episodes
    out["overview/episodes"] = float(len(infos))
    out["experience/ep_lengths"] = float(np.mean(lengths))
    tasks = {getattr(info, "task", "") for info in infos}
    if tasks - {""}:  # curriculum: one reward per task that ended episodes
        for task in sorted(tasks):
            rets = [float(np.mean(i.agent_returns)) for i in infos if getattr(i, "task", "") == task]
            out[f"env_task_reward/{task.rstrip('/').rsplit('/', 1)[-1]}/rewards.mean"] = float(np.mean(rets))
    elif task_name:
        out[f"env_task_reward/{task_name}/rewards.mean"] = reward
    out.update(_legacy_episode_metrics(infos))
    return out


def _legacy_episode_metrics(infos: list) -> dict[str, float]:
    """``env_map_reward/<label>`` (mean agent return per env label) and ``env_attributes/*`` (episode seed, map
    size, steps, max_steps; averaged over the episodes that ended)."""
    out: dict[str, float] = {}
    by_label: dict[str, list[float]] = defaultdict(list)
    for info in infos:
        by_label[getattr(info, "label", "") or "env"].append(float(np.mean(info.agent_returns)))
    for label, rets in by_label.items():
        out[f"env_map_reward/{label}"] = float(np.mean(rets))
    for key, attr in (
        ("seed", "seed"),
        ("map_w", "map_width"),
        ("map_h", "map_height"),
        ("steps", "steps"),
        ("max_steps", "max_steps"),
    ):
        values = [float(getattr(i, attr)) for i in infos if hasattr(i, attr)]
        if values:
            out[f"env_attributes/{key}"] = float(np.mean(values))
    return out
