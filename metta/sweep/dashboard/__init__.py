"""Sweep dashboard: pure builders (observations -> rows, figures, tables) plus a Dash app and an HTML export.

``model``, ``importance``, ``figures``, ``tables``, ``page`` and ``validation_view`` are pure and import neither dash
nor plotly; ``source`` reads the store and the validation results; ``app`` (dash) and ``export`` (plotly.io) are
imported only when a page is served or exported. The command line is ``experiments/dashboards/sweep_dashboard.py``.
"""
