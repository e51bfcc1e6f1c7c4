"""Helpers of the training scripts: metric logs and statistics."""

from research.utils.metrics import MetricWriter
from research.utils.metrics import read_metrics

__all__ = [
    "MetricWriter",
    "read_metrics",
]
