"""Metric logs: JSON lines in the workdir, TensorBoard events when available."""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any, Mapping

import numpy as np


def _to_python(value):
  value = np.asarray(value)
  if value.ndim:
    return value.tolist()
  value = value.item()
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)  # JSON has no nan/inf literals.
  return value


class MetricWriter:
  """Appends `{"step": s, "split": ..., name: value, ...}` lines to a file.

  TensorBoard events are written too if `tensorboardX` is installed (the
  research extras do not require it). Only process 0 should write.

  Example:
    >>> w = MetricWriter("/tmp/run")
    >>> w.write(10, {"loss": 1.5}, split="train")
    >>> w.close()
  """

  def __init__(self, workdir: str, *, filename: str = "metrics.jsonl",
               tensorboard: bool = True, keep_until_step: int | None = None):
    """Opens (appends to) `workdir/filename`.

    Args:
      workdir: run directory (created if missing).
      filename: the JSON-lines file.
      tensorboard: also write TensorBoard events if tensorboardX imports.
      keep_until_step: a resumed run's restored step: records after it (and
        a line cut short by a kill) are dropped, so that the steps the run
        redoes are not logged twice. None keeps everything.
    """
    os.makedirs(workdir, exist_ok=True)
    self.path = os.path.join(workdir, filename)
    records = []
    if os.path.exists(self.path):
      records = _read(self.path, warn=False)
    if keep_until_step is not None:
      records = [r for r in records if r.get("step", 0) <= keep_until_step]
    self._seen = {(r.get("split"), r.get("step")) for r in records}
    tmp = self.path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      f.writelines(json.dumps(r) + "\n" for r in records)
    os.replace(tmp, self.path)
    self._file = open(self.path, "a", encoding="utf-8")
    self._tb = None
    if tensorboard:
      try:
        from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
      except ImportError:
        self._tb = None

  def write(self, step: int, metrics: Mapping[str, Any], *,
            split: str = "train") -> None:
    """Writes one line; arrays become lists, non-finite floats strings."""
    record = {"step": int(step), "split": split}
    record.update({k: _to_python(v) for k, v in metrics.items()})
    key = (split, int(step))
    if key in self._seen:  # Recomputed (e.g. a finished run rerun): replace.
      self._file.close()
      kept = [r for r in _read(self.path, warn=False)
              if (r.get("split"), r.get("step")) != key]
      with open(self.path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in kept)
      self._file = open(self.path, "a", encoding="utf-8")
    self._seen.add(key)
    self._file.write(json.dumps(record) + "\n")
    self._file.flush()
    if self._tb is not None:
      for k, v in record.items():
        if k not in ("step", "split") and isinstance(v, (int, float)):
          self._tb.add_scalar(f"{split}/{k}", v, int(step))

  def close(self) -> None:
    self._file.close()
    if self._tb is not None:
      self._tb.close()


def read_metrics(workdir: str, *, split: str | None = None,
                 filename: str = "metrics.jsonl") -> list[dict[str, Any]]:
  """The records of a metrics file, optionally only one split.

  A line cut short by a killed process is skipped with a warning.
  """
  path = os.path.join(workdir, filename)
  records = _read(path, warn=True)
  return [r for r in records if split is None or r.get("split") == split]


def _read(path: str, *, warn: bool) -> list[dict[str, Any]]:
  records = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      if line.strip():
        try:
          records.append(json.loads(line))
        except json.JSONDecodeError:
          if warn:
            warnings.warn(f"{path}:{number}: skipping a truncated or corrupt "
                          f"line (an interrupted run?)")
  return records
