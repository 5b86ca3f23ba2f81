"""The arena inside other trainers: PettingZoo ParallelEnv, Gymnasium vector env, PufferLib-style vector interface.

Each wrapper imports only numpy, the arena and its own library (never torch). Importing this package needs neither
gymnasium nor pettingzoo; each wrapper module needs its library.
"""
