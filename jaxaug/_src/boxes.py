"""Boxes: the one box mask and the one box sampler of jaxaug.

A box is `(top, left, height, width)` in pixels (floats, possibly traced):
the continuous region `[top, top + height) x [left, left + width)`, the whole
image being `(0, 0, H, W)`. Its aspect ratio is `width / height` everywhere
(`random_resized_crop`, `random_erasing`).

`box_mask` is used by `cutout` (and so `random_erasing`), `cutmix` and
`resizemix`; `sample_box` by `random_resized_crop` and `random_erasing`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxaug._src import checks

# Attempts at drawing a box that fits, as in torchvision's RandomResizedCrop
# and RandomErasing; all are drawn at once and the first that fits is used
# (no data-dependent loop).
ATTEMPTS = 10


def box_mask(hw: tuple[int, int], top: Any, left: Any, height: Any,
             width: Any) -> jax.Array:
  """Boolean `(H, W, 1)` mask of the pixels inside a box.

  Pixel `(i, j)` is inside when `top <= i < top + height` and
  `left <= j < left + width` (compared in float32, so fractional and traced
  boxes work); parts outside the image are ignored and a box of zero height
  or width is empty.
  """
  h, w = hw
  rows = jnp.arange(h, dtype=jnp.float32)[:, None, None]
  cols = jnp.arange(w, dtype=jnp.float32)[None, :, None]
  top, left, height, width = (jnp.asarray(v, jnp.float32)
                              for v in (top, left, height, width))
  return ((rows >= top) & (rows < top + height) & (cols >= left) &
          (cols < left + width))


def check_box_ranges(area: Any, aspect_ratio: Any) -> tuple[Any, ...]:
  """Checks `area` in [0, 1] and a positive `aspect_ratio`; returns bounds."""
  lo_a, hi_a = checks.check_interval(area, "area", 0.0, 1.0)
  lo_r, hi_r = checks.check_interval(aspect_ratio, "aspect_ratio", 0.0)
  checks.check_positive(lo_r, "aspect_ratio[0]")
  checks.check_positive(hi_r, "aspect_ratio[1]")
  return lo_a, hi_a, lo_r, hi_r


def sample_box(key: jax.Array, hw: tuple[int, int], *, area: Any,
               aspect_ratio: Any, integer: bool,
               attempts: int = ATTEMPTS) -> tuple[jax.Array, jax.Array]:
  """Samples a torchvision-style random box; returns `(box, found)`.

  As torchvision's `RandomResizedCrop` and `RandomErasing`: `attempts`
  candidates with area fraction uniform in `area` and aspect ratio
  (width / height) log-uniform in `aspect_ratio`, `width = sqrt(a H W r)`,
  `height = sqrt(a H W / r)`; the first candidate that fits is placed
  uniformly in the image.

  Args:
    key: PRNG key.
    hw: static image size `(H, W)`.
    area: `(low, high)` area fraction, in [0, 1].
    aspect_ratio: `(low, high)` width / height, positive.
    integer: static. True: sides rounded to whole pixels, a candidate fits
      when both sides are in [1, side] and its rounded area fraction lies in
      `area`, and the corner is a uniform integer offset (erasing). False:
      fractional sides that fit inside the image and a continuous corner
      (crops: the resampler takes fractional boxes).
    attempts: static number of candidates.

  Returns:
    `box`: float32 `(4,)` `(top, left, height, width)` of the first
    candidate that fits (candidate 0 if none does), and `found`: a boolean
    scalar, False when no candidate fits.
  """
  h, w = hw
  lo_a, hi_a, lo_r, hi_r = check_box_ranges(area, aspect_ratio)
  f32 = lambda v: jnp.asarray(v, jnp.float32)
  # One draw for everything (fewer random-bit computations to compile):
  # rows are area, log aspect ratio, top and left of each candidate.
  zero, one = f32(0.), f32(1.)
  low = jnp.stack([f32(lo_a), jnp.log(f32(lo_r)), zero, zero])[:, None]
  high = jnp.stack([f32(hi_a), jnp.log(f32(hi_r)), one, one])[:, None]
  u = checks.uniform_flat(key, (4, attempts), jnp.float32, low, high)
  frac, ratio = u[0], jnp.exp(u[1])
  target = frac * (h * w)
  bw = jnp.sqrt(target * ratio)
  bh = jnp.sqrt(target / ratio)
  if integer:
    bw, bh = jnp.round(bw), jnp.round(bh)
    got = bh * bw / (h * w)
    ok = ((bh >= 1) & (bw >= 1) & (bh <= h) & (bw <= w) & (got >= lo_a) &
          (got <= hi_a))
  else:
    ok = (bw <= w) & (bh <= h) & (bw > 0) & (bh > 0)
  first = jnp.argmax(ok)
  found = ok[first]
  bh, bw = bh[first], bw[first]
  u_top, u_left = u[2, first], u[3, first]
  if integer:
    # floor(u * (n + 1)) is uniform over the n + 1 valid offsets; the minimum
    # guards the (measure-zero) u == 1 rounding case.
    top = jnp.minimum(jnp.floor(u_top * (h - bh + 1)), h - bh)
    left = jnp.minimum(jnp.floor(u_left * (w - bw + 1)), w - bw)
  else:
    top, left = u_top * (h - bh), u_left * (w - bw)
  return jnp.stack([top, left, bh, bw]).astype(jnp.float32), found
