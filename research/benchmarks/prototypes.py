"""Prototype faster colour jitter, to show where jaxaug's SimCLR time goes.

Not part of the library: these functions reproduce the semantics of
`jaxaug.color_jitter` (SimCLR's `color_jitter_rand`: multiplicative
brightness, contrast around the per-channel mean, HSV saturation, HSV hue, a
random order of the four ops, clip after each) with two changes that matter
under `vmap` on a CPU:

1. `lax.switch` on a per-example index lowers to "compute every branch, then
   select" under `vmap`, so the random order runs 4 x 4 = 16 ops, including
   the HSV hue round trip four times. Brightness, contrast and saturation are
   all blends `a + f * (y - a)` (anchor 0, the channel means, the pixel's max
   channel with f clipped per pixel), so one blend with a selected anchor and
   factor replaces three of the four branches at every position.
2. The hue round trip computes `mod(n + 6 h, 6)` for three channels with
   `jnp.mod`, which on XLA:CPU lowers to a scalar `fmod` call per element;
   `k - 6 * floor(k / 6)` is exact here (k in [0, 12)) and vectorises.

`run.py` does not use this module; `python -m research.benchmarks.prototypes`
prints the timings and the largest difference from `jaxaug.color_jitter`.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

_ORDERS = np.array(list(itertools.permutations(range(4))), np.int32)


def _planes(x):
  return x[..., 0], x[..., 1], x[..., 2]


def _hcv(r, g, b):
  v = jnp.maximum(jnp.maximum(r, g), b)
  chroma = v - jnp.minimum(jnp.minimum(r, g), b)
  grey = chroma <= 0
  inv = 1. / (6. * jnp.where(grey, 1., chroma))
  h = jnp.where(v == r, (g - b) * inv,
                jnp.where(v == g, (b - r) * inv + 1. / 3.,
                          (r - g) * inv + 2. / 3.))
  h = jnp.where(grey, 0., h)
  h = h - jnp.floor(h)
  h = jnp.where(h >= 1., 0., h)
  return h, chroma, v


def _hue_fast(x, delta):
  """HSV hue shift with a vectorisable modulo (see module docstring)."""
  r, g, b = _planes(x)
  h, chroma, v = _hcv(r, g, b)
  h = h + delta
  h6 = (h - jnp.floor(h)) * 6.

  def channel(n):
    k = n + h6
    k = k - 6. * jnp.floor(k * (1. / 6.))
    return v - chroma * jnp.clip(jnp.minimum(k, 4. - k), 0., 1.)

  out = (channel(5.), channel(3.), channel(1.))
  return jnp.stack([jnp.where(delta == 0, c, c2)
                    for c, c2 in zip((r, g, b), out)], axis=-1)


def _uniform(key, low, high):
  return jax.random.uniform(key, (), jnp.float32, low, high)


def color_jitter_fast(key, x, *, brightness, contrast, saturation, hue):
  """Same draws and semantics as `jaxaug.color_jitter(random_order=True)`."""
  k_order, k_b, k_c, k_s, k_h = jax.random.split(key, 5)

  def factor(k, s):
    s = jnp.asarray(s, jnp.float32)
    return _uniform(k, jnp.maximum(0., 1. - s), 1. + s).astype(x.dtype)

  f_b = factor(k_b, brightness)
  f_c = factor(k_c, contrast)
  f_s = factor(k_s, saturation)
  d_h = _uniform(k_h, -jnp.asarray(hue), hue).astype(x.dtype)
  order = jnp.asarray(_ORDERS)[jax.random.randint(k_order, (), 0, 24)]
  for i in range(4):
    op = order[i]
    r, g, b = _planes(x)
    v = jnp.maximum(jnp.maximum(r, g), b)[..., None]
    chroma = v - jnp.minimum(jnp.minimum(r, g), b)[..., None]
    mean = jnp.mean(x, axis=(0, 1), keepdims=True)
    max_ratio = jnp.where(chroma > 0, v / jnp.where(chroma > 0, chroma, 1.),
                          1.)
    anchor = jnp.where(op == 1, mean, jnp.where(op == 2, v, 0.))
    f = jnp.where(op == 0, f_b, jnp.where(op == 1, f_c, jnp.where(
        op == 2, jnp.clip(f_s, 0., max_ratio), 1.)))
    blended = anchor + f * (x - anchor)
    # Hue: delta 0 unless this position is the hue op (exact identity then).
    x = jnp.clip(_hue_fast(blended, jnp.where(op == 3, d_h, 0.)), 0., 1.)
  return x


def color_jitter_planar(key, x, *, brightness, contrast, saturation, hue):
  """`color_jitter_fast` on three (H, W) planes, stacked once at the end.

  The interleaved (H, W, 3) layout makes every per-channel expression a
  stride-3 access; XLA:CPU vectorises the planar form much better.
  """
  k_order, k_b, k_c, k_s, k_h = jax.random.split(key, 5)

  def factor(k, s):
    s = jnp.asarray(s, jnp.float32)
    return _uniform(k, jnp.maximum(0., 1. - s), 1. + s).astype(x.dtype)

  f_b = factor(k_b, brightness)
  f_c = factor(k_c, contrast)
  f_s = factor(k_s, saturation)
  d_h = _uniform(k_h, -jnp.asarray(hue), hue).astype(x.dtype)
  order = jnp.asarray(_ORDERS)[jax.random.randint(k_order, (), 0, 24)]
  p = [x[..., 0], x[..., 1], x[..., 2]]
  for i in range(4):
    op = order[i]
    v = jnp.maximum(jnp.maximum(p[0], p[1]), p[2])
    chroma = v - jnp.minimum(jnp.minimum(p[0], p[1]), p[2])
    max_ratio = jnp.where(chroma > 0, v / jnp.where(chroma > 0, chroma, 1.),
                          1.)
    f = jnp.where(op == 0, f_b, jnp.where(op == 1, f_c, jnp.where(
        op == 2, jnp.clip(f_s, 0., max_ratio), 1.)))
    blended = []
    for c in p:
      anchor = jnp.where(op == 1, jnp.mean(c), jnp.where(op == 2, v, 0.))
      blended.append(anchor + f * (c - anchor))
    delta = jnp.where(op == 3, d_h, 0.)
    h, chroma, v = _hcv(*blended)
    h = h + delta
    h6 = (h - jnp.floor(h)) * 6.
    new = []
    for n, c in zip((5., 3., 1.), blended):
      k = n + h6
      k = k - 6. * jnp.floor(k * (1. / 6.))
      shifted = v - chroma * jnp.clip(jnp.minimum(k, 4. - k), 0., 1.)
      new.append(jnp.clip(jnp.where(delta == 0, c, shifted), 0., 1.))
    p = new
  return jnp.stack(p, axis=-1)


def main():
  import jaxaug
  from research.benchmarks import common
  s = 0.5
  opts = dict(brightness=.8 * s, contrast=.8 * s, saturation=.8 * s,
              hue=.2 * s)
  for size, batch in ((32, 512),):
    imgs = jax.random.uniform(jax.random.key(0), (batch, size, size, 3))
    fns = {
        'jaxaug.color_jitter': lambda k, x: jaxaug.color_jitter(k, x, **opts),
        'prototype': lambda k, x: color_jitter_fast(k, x, **opts),
        'prototype planar': lambda k, x: color_jitter_planar(k, x, **opts),
        'jaxaug.adjust_hue': lambda k, x: jaxaug.adjust_hue(x, 0.1),
        'prototype hue': lambda k, x: _hue_fast(x, 0.1),
    }
    outs = {}
    for name, fn in fns.items():
      f = jax.jit(lambda k, x, fn=fn: jax.vmap(fn)(
          jax.random.split(k, x.shape[0]), x))
      sec, _, _ = common.time_calls(lambda i, f=f: f(jax.random.key(i), imgs),
                                    repetitions=5)
      outs[name] = f(jax.random.key(123), imgs)
      print(f'{size}x{size} b{batch} {name:22s} {batch / sec:10.0f} img/s '
            f'{1e3 * sec:8.1f} ms', flush=True)
    print('  max |prototype - jaxaug| jitter:',
          float(jnp.max(jnp.abs(outs['prototype'] -
                                outs['jaxaug.color_jitter']))),
          ' planar:', float(jnp.max(jnp.abs(outs['prototype planar'] -
                                            outs['jaxaug.color_jitter']))),
          ' hue:', float(jnp.max(jnp.abs(outs['prototype hue'] -
                                         outs['jaxaug.adjust_hue']))))


if __name__ == '__main__':
  main()
