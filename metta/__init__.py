"""metta: multi-agent RL research monorepo (arena gridworld, PPO, evaluation, Protein sweeps, config diffs)."""

__version__ = "0.1.0"
