"""Policies for the arena: ``fast`` (CNN + LSTM, legacy architecture) and ``mlp`` (flat tokens + LSTM).

The package imports nothing heavy: ``metta.agent.config`` is read by tools that never build a network (config_diff,
the sweep planner), so torch is imported only by the modules that need it (``factory``, ``fast``, ``mlp``, ``policy``).
Build a policy with ``metta.agent.factory.make_policy``.
"""
