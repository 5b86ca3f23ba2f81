"""The MettaGrid arena environment: YAML config tree -> frozen EnvConfig -> vectorised simulator."""

from metta.env.config import EnvConfig, load_env_config
from metta.env.obs import decode_tokens, tokens_to_box
from metta.env.parallel import ParallelArenaEnv
from metta.env.vecenv import EpisodeInfo, VecEnv

__all__ = [
    "EnvConfig",
    "EpisodeInfo",
    "ParallelArenaEnv",
    "VecEnv",
    "decode_tokens",
    "load_env_config",
    "tokens_to_box",
]
