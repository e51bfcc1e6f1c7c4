"""Scaling of the jaxaug SimCLR two-view pipeline with batch and image size.

Two sweeps of `presets.simclr(size, blur=True)` through `presets.two_views`:
batch 32..1024 at 32x32, and image size 32..224 at a fixed batch (32 here, so
that the 224x224 point stays within seconds on a CPU). The figure
`docs/figures/benchmarks.png` plots views/s for both sweeps.
"""

from __future__ import annotations

import os
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
    sizes, size_batch, reps = [32, 96, 224], 32, 2
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


def plot(measurements: list[dict[str, Any]], path: str, *, title: str) -> None:
  """Views/s against batch size and against image size, side by side."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  rows = [m for m in measurements
          if m.get('benchmark') == 'scaling' and 'value' in m]
  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for ax, sweep, xkey, xlabel in (
      (axes[0], 'batch', 'batch', 'batch size (images; 2 views each)'),
      (axes[1], 'size', 'size', 'image side (pixels)')):
    pts = sorted((m['params'][xkey], m['value']) for m in rows
                 if m['params'].get('sweep') == sweep)
    if pts:
      xs, ys = zip(*pts)
      ax.plot(xs, ys, 'o-', color='tab:blue', label='jaxaug SimCLR two views')
      if sweep == 'batch':
        ax.set_xscale('log', base=2)
        px = rows[0]['params']['size'] if rows else ''
        ax.set_title(f'batch sweep at {px}x{px}')
      else:
        b = next((m['params']['batch'] for m in rows
                  if m['params'].get('sweep') == 'size'), '')
        ax.set_title(f'image size sweep at batch {b}')
      ax.set_yscale('log')
    peers = [m for m in measurements if m.get('benchmark') == 'simclr'
             and 'value' in m and m['library'] != 'jaxaug']
    if sweep == 'size':
      for lib, color in (('dm_pix', 'tab:orange'), ('augmax', 'tab:green'),
                         ('tf_data', 'tab:red'),
                         ('albumentations', 'tab:purple'),
                         ('albumentations_2workers', 'tab:brown'),
                         ('torchvision', 'tab:pink'),
                         ('torchvision_2workers', 'tab:gray')):
        p = sorted((m['params']['size'], m['value']) for m in peers
                   if m['library'] == lib and m['name'].startswith('simclr_')
                   and m['params'].get('blur_taps', 0) > 0
                   and not m['name'].startswith('simclr_cifar'))
        if p:
          xs, ys = zip(*p)
          # Points of the SimCLR comparison (its batch per size), unjoined:
          # that benchmark has no intermediate sizes.
          ax.plot(xs, ys, 's', color=color,
                  label=f'{lib} (SimCLR comparison, its batch)')
    ax.set_xlabel(xlabel)
    ax.set_ylabel('views / s')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=8)
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path, dpi=120)
  plt.close(fig)
