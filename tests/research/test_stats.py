"""research.utils.stats against the t-interval formula and scipy.stats."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from research.utils import stats


def test_paired_difference_matches_the_t_interval():
  a = np.array([0.91, 0.88, 0.90, 0.86, 0.93])
  b = np.array([0.85, 0.84, 0.88, 0.83, 0.86])
  d = a - b
  got = stats.paired_difference(a, b)
  half = scipy_stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
  np.testing.assert_allclose(got["mean"], d.mean())
  np.testing.assert_allclose(got["std"], d.std(ddof=1))
  np.testing.assert_allclose([got["ci_low"], got["ci_high"]],
                             [d.mean() - half, d.mean() + half])
  np.testing.assert_allclose(got["p_value"],
                             scipy_stats.ttest_1samp(d, 0.0).pvalue)
  assert got["n"] == 5 and stats.excludes_zero(got)
  # 90% is narrower than 95%.
  narrow = stats.paired_difference(a, b, confidence=0.9)
  assert got["ci_low"] < narrow["ci_low"] < narrow["ci_high"] < got["ci_high"]


def test_paired_difference_edge_cases():
  # No difference in any seed: a zero-width interval at 0, not NaN.
  same = stats.paired_difference([0.5, 0.6], [0.5, 0.6])
  assert (same["ci_low"], same["ci_high"]) == (0.0, 0.0)
  assert not stats.excludes_zero(same)
  # Mixed signs: the interval covers 0.
  mixed = stats.paired_difference([0.5, 0.7, 0.6], [0.6, 0.6, 0.6])
  assert mixed["ci_low"] < 0 < mixed["ci_high"]
  assert not stats.excludes_zero(mixed)
  one = stats.paired_difference([0.7], [0.6])
  assert np.isnan(one["ci_low"]) and one["n"] == 1
  with pytest.raises(ValueError, match="equal-length"):
    stats.paired_difference([0.1, 0.2], [0.1])


def test_mean_std_uses_the_sample_std():
  assert stats.mean_std([1.0, 3.0]) == (2.0, np.sqrt(2.0))
  assert stats.mean_std([4.0]) == (4.0, 0.0)
