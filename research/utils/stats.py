"""Summary statistics over seeds: mean ± std and paired differences with CIs.

Each experiment table reports, per setting, the mean and the sample standard
deviation (ddof = 1) over seeds, and for each setting against its baseline the
paired difference over seeds (same seeds, so per-seed differences) with a
two-sided Student-t confidence interval (`scipy.stats.ttest_rel`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats as scipy_stats


def mean_std(values: Sequence[float]) -> tuple[float, float]:
  """Mean and sample standard deviation (ddof = 1; 0 for a single value)."""
  x = np.asarray(values, np.float64)
  return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else 0.0


def paired_difference(values: Sequence[float], baseline: Sequence[float], *,
                      confidence: float = 0.95) -> dict[str, float]:
  """Mean of `values - baseline` over paired seeds, with a t interval.

  Args:
    values: one number per seed for a setting.
    baseline: one number per seed for the baseline, in the same seed order.
    confidence: level of the two-sided interval.

  Returns:
    `{"mean", "std", "ci_low", "ci_high", "n", "p_value"}`: the mean and sample
    std of the differences, the interval `mean ± t_{n-1} * std / sqrt(n)`
    (NaN with fewer than two seeds), the seed count and the paired t-test's
    two-sided p-value.

  Raises:
    ValueError: the two sequences differ in length or are empty.

  Example:
    >>> d = paired_difference([0.9, 0.8, 0.85], [0.8, 0.75, 0.8])
    >>> round(d["mean"], 4)
    0.0667
  """
  a = np.asarray(values, np.float64)
  b = np.asarray(baseline, np.float64)
  if a.shape != b.shape or a.ndim != 1 or not len(a):
    raise ValueError(f"paired_difference needs two equal-length, non-empty "
                     f"sequences, got {a.shape} and {b.shape}")
  d = a - b
  mean, std = mean_std(d)
  out = {"mean": mean, "std": std, "n": int(len(d)), "ci_low": float("nan"),
         "ci_high": float("nan"), "p_value": float("nan")}
  if len(d) >= 2:
    if std == 0.0:
      out.update(ci_low=mean, ci_high=mean,
                 p_value=1.0 if mean == 0 else 0.0)
    else:
      test = scipy_stats.ttest_rel(a, b)
      ci = test.confidence_interval(confidence)
      out.update(ci_low=float(ci.low), ci_high=float(ci.high),
                 p_value=float(test.pvalue))
  return out


def excludes_zero(diff: dict[str, float]) -> bool:
  """Whether a paired difference's confidence interval excludes zero."""
  return bool(diff["ci_low"] > 0 or diff["ci_high"] < 0)
