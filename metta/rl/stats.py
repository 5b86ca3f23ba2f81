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
    if task_name:
        out[f"env_task_reward/{task_name}/rewards.mean"] = reward
    return out
