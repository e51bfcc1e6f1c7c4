"""Timing helpers and the measurement record shared by every benchmark."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from typing import Any, Callable

import jax
import numpy as np


@dataclasses.dataclass
class Measurement:
  """One throughput figure.

  Attributes:
    benchmark: benchmark group, e.g. "simclr", "fields", "training", "scaling".
    name: what was measured within the group, e.g. "simclr_32".
    library: who produced it ("jaxaug", "augmax", "dm_pix", ...).
    value: the figure itself (higher is faster for rates).
    unit: unit of `value`, e.g. "views/s", "fields/s", "images/s", "s/step".
    seconds: median wall-clock seconds of one timed call.
    repetitions: how many timed calls the median is over.
    items: items (views, fields, images) produced by one call.
    params: sizes and settings (batch, size, ...).
    notes: free text (extrapolations, deviations from the reference recipe).
  """
  benchmark: str
  name: str
  library: str
  value: float
  unit: str
  seconds: float
  repetitions: int
  items: int
  params: dict[str, Any] = dataclasses.field(default_factory=dict)
  notes: str = ''

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)


def block(tree: Any) -> Any:
  """Waits for every JAX array in `tree` (numpy arrays pass through)."""
  return jax.block_until_ready(tree)


def time_calls(fn: Callable[[int], Any], *, repetitions: int,
               warmup: int = 1) -> tuple[float, list[float], float]:
  """Times `fn(i)` for fresh indices `i` after `warmup` untimed calls.

  `fn` receives the call index so that it can fold it into a PRNG key: every
  call draws new random numbers, as in training, and nothing can be cached.

  Returns:
    (median seconds, all timed seconds, seconds of the first warm-up call,
    which includes compilation for jitted functions).
  """
  first = 0.0
  for i in range(warmup):
    t0 = time.perf_counter()
    block(fn(i))
    if i == 0:
      first = time.perf_counter() - t0
  times = []
  for i in range(repetitions):
    t0 = time.perf_counter()
    block(fn(warmup + i))
    times.append(time.perf_counter() - t0)
  return (statistics.median(times) if times else math.nan), times, first


def rate(items: int, seconds: float) -> float:
  return items / seconds if seconds > 0 else math.inf


def machine_info() -> dict[str, Any]:
  """JAX, numpy and platform facts recorded beside every result file."""
  import os
  import platform
  info = {
      'jax_version': jax.__version__,
      'numpy_version': np.__version__,
      'python_version': platform.python_version(),
      'platform': platform.platform(),
      'processor': platform.processor() or platform.machine(),
      'cpu_count': os.cpu_count(),
      'jax_backend': jax.default_backend(),
      'jax_devices': [str(d) for d in jax.devices()],
      'device_kind': jax.devices()[0].device_kind,
  }
  try:
    info['cpu_model'] = _cpu_model()
  except OSError:
    pass
  return info


def _cpu_model() -> str:
  with open('/proc/cpuinfo', encoding='utf-8') as f:
    for line in f:
      if line.startswith('model name'):
        return line.split(':', 1)[1].strip()
  return ''


def library_versions(names: list[str]) -> dict[str, str]:
  """Installed versions of `names` (distribution names); "missing" if absent."""
  import importlib.metadata
  out = {}
  for n in names:
    try:
      out[n] = importlib.metadata.version(n)
    except importlib.metadata.PackageNotFoundError:
      out[n] = 'missing'
  return out
