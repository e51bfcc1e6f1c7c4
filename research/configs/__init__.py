"""Experiment configs: `base.py` (every field), `experiment.py` (the one the CLI loads), `check.py`."""
