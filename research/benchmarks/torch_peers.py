"""The torchvision v2 host peers and the interpreter they run under.

Split from `host_peers.py` (which runs every host peer in a fresh process):
torch is never in `.venv`, which `make test` shares; `make bench` makes
`.venv-torch` for these peers. `strength` (colour strength s) and
`kernel_size` (odd blur taps) are the recipe's, as `host_peers` computes them.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

TORCH_PYTHON_ENV = 'JAXAUG_TORCH_PYTHON'
TORCH_VENV = '.venv-torch'
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _torchvision_compose(size: int, blur: bool, strength: float,
                         kernel_size: int):
  from torchvision.transforms import v2
  s, k = strength, kernel_size
  ops = [
      v2.RandomResizedCrop((size, size), scale=(0.08, 1.0),
                           ratio=(3 / 4, 4 / 3), antialias=True),
      v2.RandomHorizontalFlip(p=0.5),
      v2.RandomApply([v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)],
                     p=0.8),
      v2.RandomGrayscale(p=0.2),
  ]
  if blur and k > 1:
    ops.append(v2.RandomApply([v2.GaussianBlur(k, sigma=(0.1, 2.0))], p=0.5))
  return v2.Compose(ops)


class _TwoViews:
  """Map-style dataset: item i is two views of image i % n (C, H, W)."""

  def __init__(self, images, compose, length: int):
    self.images, self.compose, self.length = images, compose, length

  def __len__(self) -> int:
    return self.length

  def __getitem__(self, i: int):
    x = self.images[i % self.images.shape[0]]
    return self.compose(x), self.compose(x)


def torchvision_pipeline(images: np.ndarray, *, blur: bool, strength: float,
                         kernel_size: int, workers: int = 0,
                         calls: int = 1 << 20) -> Callable[[], Any]:
  """Two views per image through `torchvision.transforms.v2` on CPU tensors.

  `workers` = 0: a loop over the images in this process on ONE torch
  thread (`torch.set_num_threads(1)`: the per-image ops are small, and on
  the shared 2-core machine torch's default of 2 intra-op threads made the
  224x224 pipeline 4-5x slower, 21 against 97-124 views/s). `workers` > 0: a `DataLoader` with that many forked
  worker processes (each on one torch thread, as `DataLoader` sets it),
  each making `n / workers` images per task; `calls` bounds the batches it
  can give.
  The views come back as `(n, H, W, C)` NumPy views of the `(n, C, H, W)`
  tensors (no copy).
  """
  import torch
  n, size = images.shape[0], images.shape[1]
  chw = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
  compose = _torchvision_compose(size, blur, strength, kernel_size)
  if not workers:
    torch.set_num_threads(1)
    def call():
      v1 = torch.stack([compose(chw[i]) for i in range(n)])
      v2_ = torch.stack([compose(chw[i]) for i in range(n)])
      return (v1.permute(0, 2, 3, 1).numpy(), v2_.permute(0, 2, 3, 1).numpy())
    return call
  # Each worker makes half of a batch (as the albumentations pool) and
  # holds one task ahead (prefetch_factor=1): the tasks in flight after the
  # untimed first call are exactly the next batch, so a timed call measures
  # one batch's work and no buffer filled earlier.
  half = -(-n // workers)
  loader = torch.utils.data.DataLoader(
      _TwoViews(chw, compose, n * calls), batch_size=half, shuffle=False,
      num_workers=workers, persistent_workers=True, prefetch_factor=1,
      multiprocessing_context='fork')
  it = iter(loader)
  parts_per_call = -(-n // half)

  def call_loader():
    parts = [next(it) for _ in range(parts_per_call)]
    v1 = torch.cat([p[0] for p in parts])
    v2_ = torch.cat([p[1] for p in parts])
    return (v1.permute(0, 2, 3, 1).numpy(), v2_.permute(0, 2, 3, 1).numpy())

  return call_loader


def torch_python() -> tuple[str | None, str]:
  """(interpreter for the torchvision peers or None, how it was chosen)."""
  import importlib.util
  if TORCH_PYTHON_ENV in os.environ:
    path = os.environ[TORCH_PYTHON_ENV]
    if not path:
      return None, f'{TORCH_PYTHON_ENV} is set empty (peer turned off)'
    if not os.path.exists(path):
      return None, f'{TORCH_PYTHON_ENV}={path} does not exist'
    return os.path.abspath(path), f'{TORCH_PYTHON_ENV}={path}'
  if (importlib.util.find_spec('torch') is not None and
      importlib.util.find_spec('torchvision') is not None):
    return sys.executable, 'this interpreter'
  path = os.path.join(_ROOT, TORCH_VENV, 'bin', 'python')
  if os.path.exists(path):
    return path, f'{TORCH_VENV} (make bench)'
  return None, (f'torch/torchvision not installed: no torch in this '
                f'interpreter, no {TORCH_VENV}/ (make bench creates it) and '
                f'{TORCH_PYTHON_ENV} unset')
