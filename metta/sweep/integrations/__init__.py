"""Adapters that let other tuning frameworks drive Protein (optional dependencies, imported on demand).

- :mod:`metta.sweep.integrations.ray_tune`: ``ProteinSearcher``, a Ray Tune ``Searcher`` (``pip install -e '.[ray]'``).
"""
