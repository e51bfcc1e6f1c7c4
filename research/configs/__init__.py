"""Experiment configs: `base.py` plus one small file per experiment."""
