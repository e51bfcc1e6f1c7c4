"""Scaling of the jaxaug SimCLR two-view pipeline with batch and image size.

Two sweeps of `presets.simclr(size, blur=True)` through `presets.two_views`:
batch 32..1024 at 32x32, and image size 32..224 at a fixed batch (32 here, so
that the 224x224 point stays within seconds on a CPU). The figure
`docs/figures/benchmarks.png` (`figure.py`) plots views/s for both sweeps.
"""

from __future__ import annotations

from typing import Any, Callable

from research.benchmarks import common
from research.benchmarks import simclr_pipeline


def run(*, quick: bool, log: Callable[[str], None] = print) -> list[Any]:
  if quick:
    # The point of the quick SimCLR comparison: its compiled function is
    # reused (simclr_pipeline.pipeline), so the smoke run compiles nothing new.
    batches, batch_size_px = [4], 16
    sizes, size_batch, reps = [16], 4, 1
  else:
    batches, batch_size_px = [32, 256, 1024], 32
    sizes, size_batch, reps = [32, 96, 224], 32, 7
  out: list[Any] = []
  jobs = [('batch', b, batch_size_px) for b in batches]
  jobs += [('size', size_batch, s) for s in sizes]
  for sweep, batch, size in jobs:
    try:
      m = simclr_pipeline.bench_one('jaxaug', size=size, batch=batch,
                                    repetitions=reps)
    except Exception as e:  # pylint: disable=broad-except
      out.append({'benchmark': 'scaling', 'name': f'{sweep}_{batch}_{size}',
                  'library': 'jaxaug', 'error': f'{type(e).__name__}: {e}'})
      log(f'  scaling {sweep} b{batch} {size}: FAILED {e}')
      continue
    m.benchmark = 'scaling'
    m.name = f'{sweep}_sweep'
    m.params['sweep'] = sweep
    out.append(m)
    log(f'  scaling {sweep:5s} batch {batch:5d} size {size:4d} '
        f'{m.value:10.1f} views/s')
  return out
