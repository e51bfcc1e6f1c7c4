"""Helpers of the training scripts: config files and overrides, metric logs."""

from research.utils.config_utils import apply_overrides
from research.utils.config_utils import load_config
from research.utils.config_utils import validate_config
from research.utils.metrics import MetricWriter
from research.utils.metrics import read_metrics

__all__ = [
    "MetricWriter",
    "apply_overrides",
    "load_config",
    "read_metrics",
    "validate_config",
]
