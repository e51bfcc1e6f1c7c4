"""`docs/figures/benchmarks.png`: every SimCLR pipeline, every library.

One panel per SimCLR comparison (32x32 with blur, 32x32 CIFAR recipe
without blur, 224x224 with blur): a bar per library at the comparison's
batch (the same for every library of a panel), the median views/s, and a
line from the slowest to the fastest timed call (the spread). The views/s
axis is linear: within a panel the values differ by at most ~100x, and a
linear axis shows the ratios the README quotes as lengths. The last panels are
jaxaug's batch sweep at 32x32 (linear views/s, batch on a log2 axis), and
its image-size sweep (log views/s: 32 to 224 pixels spans ~50x), each
point with a line from its slowest to its fastest timed call.
"""

from __future__ import annotations

import os
import textwrap
from typing import Any

from research.benchmarks import report

# Fixed colours, so a library keeps its colour across panels and runs.
COLORS = {
    'jaxaug': 'tab:blue', 'jaxaug_fixed_order': 'lightsteelblue',
    'dm_pix': 'tab:orange', 'augmax': 'tab:green', 'tf_data': 'tab:red',
    'albumentations': 'tab:purple', 'albumentations_2workers': 'plum',
    'torchvision': 'tab:brown', 'torchvision_2workers': 'burlywood',
}


def plot(measurements: list[dict[str, Any]], path: str, *,
         title: str) -> None:
  """Writes the figure to `path` (PNG)."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  simclr = [m for m in measurements
            if m.get('benchmark') == 'simclr' and 'value' in m]
  names = list(dict.fromkeys(m['name'] for m in simclr))
  scaling = [m for m in measurements
             if m.get('benchmark') == 'scaling' and 'value' in m]
  # (x, median, slowest, fastest) of each sweep point.
  sweep = sorted((m['params']['batch'], m['value'], *report.spread(m))
                 for m in scaling if m['params'].get('sweep') == 'batch')
  sizes = sorted((m['params']['size'], m['value'], *report.spread(m))
                 for m in scaling if m['params'].get('sweep') == 'size')
  panels = len(names) + (1 if sweep else 0) + (1 if sizes else 0)
  cols = min(max(panels, 1), 3)
  nrows = -(-max(panels, 1) // cols)
  fig, grid = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.8 * nrows),
                           squeeze=False)
  axes = list(grid.ravel())
  for ax in axes[panels:]:
    ax.axis('off')
  axes = axes[:panels]
  for ax, name in zip(axes, names):
    rows = [m for m in simclr if m['name'] == name]
    rows.sort(key=lambda m: (not m['library'].startswith('jaxaug'),
                             m['library']))
    ys = range(len(rows))
    values = [m['value'] for m in rows]
    lo_hi = [report.spread(m) for m in rows]
    ax.barh(list(ys), values,
            color=[COLORS.get(m['library'], 'grey') for m in rows])
    for y, m, (lo, hi) in zip(ys, rows, lo_hi):
      ax.plot([lo, hi], [y, y], color='black', lw=1)
      ax.text(hi, y, f" {m['value']:,.0f}", va='center', fontsize=7)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([m['library'] for m in rows], fontsize=8)
    ax.invert_yaxis()
    p = rows[0]['params']
    blur = (f"blur {p['blur_taps']} taps" if p.get('blur') else 'no blur')
    ax.set_title(f"{name}: {p['size']}x{p['size']}, {blur}, batch "
                 f"{p['batch']}", fontsize=9)
    ax.set_xlabel('views / s (bar: median; line: slowest-fastest call)',
                  fontsize=8)
    ax.set_xlim(0, max(hi for _, hi in lo_hi) * 1.25)
    ax.grid(True, axis='x', alpha=0.3)
  if sweep:
    ax = axes[len(names)]
    xs, ys, los, his = zip(*sweep)
    ax.plot(xs, ys, 'o-', color=COLORS['jaxaug'])
    ax.vlines(xs, los, his, color='black', lw=1)
    ax.set_xscale('log', base=2)
    ax.set_ylim(0, max(his) * 1.15)
    size = next(m['params']['size'] for m in scaling
                if m['params'].get('sweep') == 'batch')
    ax.set_title(f'jaxaug batch sweep at {size}x{size}', fontsize=9)
    ax.set_xlabel('batch (images; 2 views each)', fontsize=8)
    ax.set_ylabel('views / s (dot: median; line: slowest-fastest call)',
                  fontsize=8)
    ax.grid(True, alpha=0.3)
  if sizes:
    ax = axes[-1]
    xs, ys, los, his = zip(*sizes)
    ax.plot(xs, ys, 'o-', color=COLORS['jaxaug'])
    ax.vlines(xs, los, his, color='black', lw=1)
    # 32 to 224 pixels spans ~50x in views/s: a log axis here.
    ax.set_yscale('log')
    batch = next(m['params']['batch'] for m in scaling
                 if m['params'].get('sweep') == 'size')
    ax.set_title(f'jaxaug image size sweep at batch {batch}', fontsize=9)
    ax.set_xlabel('image side (pixels)', fontsize=8)
    ax.set_ylabel('views / s, log (dot: median; line: slowest-fastest)',
                  fontsize=8)
    ax.grid(True, which='both', alpha=0.3)
  # Wrapped to the figure's width (about 11 characters per inch at 10 pt),
  # so that a long title fits a one-panel figure too.
  width_chars = max(30, int(fig.get_figwidth() * 11))
  fig.suptitle(textwrap.fill(title, width_chars), fontsize=10)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  # Written whole under another name (same extension: the format), then
  # renamed over the old figure: a kill while saving leaves the old one.
  root, ext = os.path.splitext(path)
  partial = f'{root}.partial{ext}'
  fig.savefig(partial, dpi=110)
  os.replace(partial, path)
  plt.close(fig)
