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
               tensorboard: bool = True):
    os.makedirs(workdir, exist_ok=True)
    self.path = os.path.join(workdir, filename)
    # A killed run may have left half a line; start ours on a fresh one.
    needs_newline = False
    if os.path.exists(self.path) and os.path.getsize(self.path):
      with open(self.path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        needs_newline = f.read(1) != b"\n"
    self._file = open(self.path, "a", encoding="utf-8")
    if needs_newline:
      self._file.write("\n")
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
  records = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      if line.strip():
        try:
          record = json.loads(line)
        except json.JSONDecodeError:
          warnings.warn(f"{path}:{number}: skipping a truncated or corrupt "
                        f"line (an interrupted run?)")
          continue
        if split is None or record.get("split") == split:
          records.append(record)
  return records
