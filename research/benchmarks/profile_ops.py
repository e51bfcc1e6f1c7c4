"""Where the time of the SimCLR two-view pipeline goes, op by op.

Usage (also as a plain script, so that it can time another checkout of
jaxaug with `PYTHONPATH=<checkout> python research/benchmarks/profile_ops.py`;
it imports only jax, numpy and jaxaug):

  python -m research.benchmarks.profile_ops [--size 32 --batch 256]
      [--rounds 7] [--json PATH]

Method. Each op of `presets.simclr(size)` (SimCLR's recipe: colour strength
0.5 at <= 64 px, 1.0 above; blur kernel 10% of the side made odd) is jitted
alone as `jit(vmap(op))` over `2 * batch` keys and run on `2 * batch` float32
images of the output size (the views), so its time is what it costs inside
the two-view pipeline; the colour run (jitter p=0.8, grayscale p=0.2, blur
p=0.5) is timed as one `chain` (fused, and `fuse=False`: op by op), and the
whole preset through `presets.two_views` on `batch` images. Every function
is called once untimed (compilation; its wall time is reported as
`first_s`), then all are timed in turn for `rounds` rounds with a fresh key
per call, so background load hits them evenly; the median, min and max of
the per-call wall times are reported in ms per call and us per view, with
the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp

import jaxaug
from jaxaug import presets


def _kernel_size(size: int) -> int:
  return 2 * ((size // 10) // 2) + 1


def functions(size: int, batch: int) -> dict:
  """name -> (jitted fn(key, images), input images) for one setting."""
  s = 0.5 if size <= 64 else 1.0
  k = _kernel_size(size)
  crop = functools.partial(jaxaug.random_resized_crop, size=size,
                           area=(0.08, 1.0), aspect_ratio=(3 / 4, 4 / 3))
  flip = functools.partial(jaxaug.random_flip_left_right, probability=0.5)
  jitter = functools.partial(jaxaug.color_jitter, brightness=0.8 * s,
                             contrast=0.8 * s, saturation=0.8 * s,
                             hue=0.2 * s)
  grey = functools.partial(jaxaug.random_grayscale, probability=0.2)
  blur = functools.partial(jaxaug.random_gaussian_blur, sigma=(0.1, 2.0),
                           kernel_size=k)
  jitter_p = jaxaug.with_probability(jitter, 0.8)
  blur_p = jaxaug.with_probability(blur, 0.5)
  views = jax.random.uniform(jax.random.key(0), (2 * batch, size, size, 3))
  images = views[:batch]

  def per_view(fn):
    return jax.jit(jax.vmap(fn)), views

  def two(aug):
    return (jax.jit(lambda key, x: presets.two_views(key, x, aug)), images)

  out = {
      'crop+flip (fused)': per_view(jaxaug.chain(crop, flip)),
      'color_jitter p=0.8': per_view(jitter_p),
      'color_jitter p=1': per_view(jitter),
      'color_jitter p=1 fixed order': per_view(
          functools.partial(jitter, random_order=False)),
      'random_grayscale p=0.2': per_view(grey),
      f'blur {k} taps p=0.5': per_view(blur_p),
      f'blur {k} taps p=1': per_view(blur),
      'colour run, chain fused': per_view(jaxaug.chain(jitter_p, grey,
                                                       blur_p)),
      'colour run, chain fuse=False': per_view(
          jaxaug.chain(jitter_p, grey, blur_p, fuse=False)),
      'colour run no blur, chain fused': per_view(jaxaug.chain(jitter_p,
                                                               grey)),
      'simclr two views (blur)': two(presets.simclr(size, strength=s)),
      'simclr two views (no blur)': two(presets.simclr(size, strength=s,
                                                       blur=False)),
  }
  return out


def _call(fn, x, key):
  return jax.block_until_ready(fn(key, x))


def profile(size: int, batch: int, rounds: int, log=print) -> dict:
  """Times every function of `functions(size, batch)`; returns a record."""
  fns = functions(size, batch)
  base = jax.random.key(1)
  load0 = os.getloadavg()
  first = {}
  for name, (fn, x) in fns.items():
    t0 = time.perf_counter()
    if 'two views' in name:
      _call(fn, x, base)
    else:
      _call(fn, x, jax.random.split(base, x.shape[0]))
    first[name] = time.perf_counter() - t0
  times = {name: [] for name in fns}
  for r in range(rounds):
    key = jax.random.fold_in(base, r + 1)
    for name, (fn, x) in fns.items():
      k = key if 'two views' in name else jax.random.split(key, x.shape[0])
      t0 = time.perf_counter()
      _call(fn, x, k)
      times[name].append(time.perf_counter() - t0)
  load1 = os.getloadavg()
  views = 2 * batch
  rows = []
  for name in fns:
    t = times[name]
    rows.append({'name': name, 'median_ms': 1e3 * statistics.median(t),
                 'min_ms': 1e3 * min(t), 'max_ms': 1e3 * max(t),
                 'us_per_view': 1e6 * statistics.median(t) / views,
                 'first_s': first[name]})
    log(f'{name:34s} {rows[-1]["median_ms"]:9.2f} ms '
        f'[{rows[-1]["min_ms"]:.2f}-{rows[-1]["max_ms"]:.2f}] '
        f'{rows[-1]["us_per_view"]:8.1f} us/view  first {first[name]:.1f} s')
  return {'size': size, 'batch': batch, 'views': views, 'rounds': rounds,
          'jaxaug_file': jaxaug.__file__, 'jax': jax.__version__,
          'loadavg_before': load0, 'loadavg_after': load1, 'rows': rows}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--size', type=int, nargs='+', default=[32, 224])
  parser.add_argument('--batch', type=int, nargs='+', default=[256, 32])
  parser.add_argument('--rounds', type=int, default=7)
  parser.add_argument('--json', default=None)
  args = parser.parse_args(argv)
  out = []
  for size, batch in zip(args.size, args.batch):
    print(f'# {size}x{size}, batch {batch} ({2 * batch} views), '
          f'load {os.getloadavg()}', flush=True)
    out.append(profile(size, batch, args.rounds))
  if args.json:
    with open(args.json, 'w', encoding='utf-8') as f:
      json.dump(out, f, indent=1)
  return out


if __name__ == '__main__':
  main()
