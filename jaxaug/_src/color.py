"""Colour and intensity augmentations.

Every op takes one image of layout `(H, W, C)` (or `channel_axis=`) with float
values in [0, 1] and returns the same shape and dtype, clipped to [0, 1]
(unlike `dm_pix`, which leaves `adjust_brightness`/`adjust_contrast` outputs
unclipped so they can be chained). Ops that mix channels (saturation, hue,
HSV conversions, grayscale, `color_jitter`) need exactly 3 channels (RGB);
the others work channel by channel on any channel count.

Magnitudes (deltas, factors, gamma, thresholds, bits) may be traced arrays, so
they can be sampled per example under `jax.vmap`. Half-precision images are
processed in float32 and cast back. All ops are NaN-free in value and in
gradient for grey, black and white pixels and constant images.
"""

from __future__ import annotations

import functools
import itertools
from typing import Tuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
import numpy as np

from jaxaug._src import checks

# Every order of color_jitter's four ops.
_ORDERS = np.array(list(itertools.permutations(range(4))), np.int32)

# ITU-R BT.601 luma weights, as `tf.image.rgb_to_grayscale` and `dm_pix`.
_LUMA_601 = (0.2989, 0.5870, 0.1140)


def _compute_dtype(dtype) -> jnp.dtype:
  """Float dtype used for arithmetic: at least float32."""
  return jnp.promote_types(dtype, jnp.float32)


def _prepare(image: ArrayLike, *, rgb: bool) -> Tuple[jax.Array, jnp.dtype]:
  """Validates `image`; returns it in the compute dtype and its own dtype."""
  image = checks.check_image(image, channels=(3,) if rgb else None)
  return image.astype(_compute_dtype(image.dtype)), image.dtype


def _finish(x: jax.Array, dtype) -> jax.Array:
  return jnp.clip(x, 0., 1.).astype(dtype)


def _planes(x: jax.Array) -> Tuple[jax.Array, jax.Array, jax.Array]:
  return x[..., 0], x[..., 1], x[..., 2]


def _safe_div(num: jax.Array, den: jax.Array) -> jax.Array:
  """num / den where den > 0, else 0; gradients stay finite."""
  ok = den > 0
  return jnp.where(ok, num / jnp.where(ok, den, 1.), 0.)


# ---------------------------------------------------------------------------
# HSV conversions.


def _hue_chroma_value(r, g, b):
  v = jnp.maximum(jnp.maximum(r, g), b)
  chroma = v - jnp.minimum(jnp.minimum(r, g), b)
  # Hue sector by sector (the red test wins ties, then green, as colorsys);
  # the division uses a safe denominator so grey pixels give finite grads.
  grey = chroma <= 0
  inv = 1. / (6. * jnp.where(grey, 1., chroma))
  h = jnp.where(v == r, (g - b) * inv,
                jnp.where(v == g, (b - r) * inv + 1. / 3.,
                          (r - g) * inv + 2. / 3.))
  h = jnp.where(grey, 0., h)
  h = h - jnp.floor(h)
  # A tiny negative hue rounds up to 1.0 in float32; keep h in [0, 1).
  h = jnp.where(h >= 1., 0., h)
  return h, chroma, v


def _rgb_planes_to_hsv(r, g, b):
  h, chroma, v = _hue_chroma_value(r, g, b)
  return h, _safe_div(chroma, v), v


def _hue_chroma_value_to_rgb(h, chroma, v):
  h6 = (h - jnp.floor(h)) * 6.

  def channel(n):
    # k mod 6 as k - 6 floor(k / 6): XLA:CPU lowers a float jnp.mod to one
    # scalar fmod call per element, this form vectorises. Here k is in
    # [1, 11), so the subtraction is exact and the result equals fmod's.
    k = n + h6
    k = k - 6. * jnp.floor(k / 6.)
    return v - chroma * jnp.clip(jnp.minimum(k, 4. - k), 0., 1.)

  return channel(5.), channel(3.), channel(1.)


def _hsv_planes_to_rgb(h, s, v):
  return _hue_chroma_value_to_rgb(h, v * s, v)


# The private kernels are jitted so that eager calls run as one compiled
# computation instead of dozens of op-by-op dispatches (inlined under jit).
@jax.jit
def _rgb_to_hsv(x):
  return jnp.stack(_rgb_planes_to_hsv(*_planes(x)), axis=-1)


@jax.jit
def _hsv_to_rgb(x):
  return jnp.stack(_hsv_planes_to_rgb(*_planes(x)), axis=-1)


@checks.with_channel_axis
def rgb_to_hsv(image: ArrayLike) -> jax.Array:
  """Converts an RGB image to HSV.

  Same convention as `colorsys.rgb_to_hsv` applied per pixel: hue in turns in
  [0, 1) (0 for grey pixels), saturation and value in [0, 1]. Gradients are
  finite everywhere, grey and black pixels included.

  Args:
    image: `(H, W, 3)` float RGB image in [0, 1].

  Returns:
    `(H, W, 3)` array of (hue, saturation, value), same dtype.

  Raises:
    TypeError: non-float image. ValueError: wrong rank or channel count.

  Example:
    >>> hsv = rgb_to_hsv(jnp.full((2, 2, 3), 0.5))  # grey: h = s = 0
  """
  x, dtype = _prepare(image, rgb=True)
  return _rgb_to_hsv(x).astype(dtype)


@checks.with_channel_axis
def hsv_to_rgb(image: ArrayLike) -> jax.Array:
  """Converts an HSV image to RGB (inverse of `rgb_to_hsv`).

  Args:
    image: `(H, W, 3)` float array of (hue in turns, wraps modulo 1;
      saturation in [0, 1]; value in [0, 1]).

  Returns:
    `(H, W, 3)` RGB image in [0, 1], same dtype.

  Raises:
    TypeError: non-float image. ValueError: wrong rank or channel count.

  Example:
    >>> rgb = hsv_to_rgb(rgb_to_hsv(jnp.ones((2, 2, 3))))
  """
  x, dtype = _prepare(image, rgb=True)
  return _hsv_to_rgb(x).astype(dtype)


@checks.with_channel_axis
def rgb_to_grayscale(image: ArrayLike, *, keep_channels: bool = True
                     ) -> jax.Array:
  """Converts RGB to luma with the ITU-R BT.601 weights (0.2989, 0.5870, 0.1140).

  Same weights as `tf.image.rgb_to_grayscale` and `dm_pix.rgb_to_grayscale`.

  Args:
    image: `(H, W, 3)` float RGB image in [0, 1].
    keep_channels: if True (default) the luma is repeated on 3 channels so the
      result can replace the image; if False the result has 1 channel.

  Returns:
    `(H, W, 3)` (or `(H, W, 1)`) grey image, same dtype.

  Raises:
    TypeError: non-float image. ValueError: wrong rank or channel count.

  Example:
    >>> grey = rgb_to_grayscale(jnp.ones((4, 4, 3)), keep_channels=False)
  """
  x, dtype = _prepare(image, rgb=True)
  grey = _grey(x)
  if keep_channels:
    grey = jnp.broadcast_to(grey, x.shape)
  return _finish(grey, dtype)


def _grey(x: jax.Array) -> jax.Array:
  # Three slices rather than `sum(x * w, axis=-1)`: XLA on CPU runs a
  # reduction over a minor axis of size 3 some 30x slower than this fusion.
  r, g, b = (jnp.asarray(w, x.dtype) for w in _LUMA_601)
  return x[..., 0:1] * r + x[..., 1:2] * g + x[..., 2:3] * b


# ---------------------------------------------------------------------------
# Deterministic adjustments (the compute kernels are shared with color_jitter).


def _brightness(x, delta):
  return x + jnp.asarray(delta, x.dtype)


@jax.jit
def _contrast(x, factor):
  mean = jnp.mean(x, axis=(0, 1), keepdims=True)
  # Written as x + (f - 1)(x - mean) so that f = 1 is the identity exactly.
  return x + (jnp.asarray(factor, x.dtype) - 1.) * (x - mean)


@jax.jit
def _saturation(x, factor):
  # Scaling the HSV saturation by f (clipped to [0, 1]) keeps hue and value;
  # in RGB that moves every channel towards/away from the max by the ratio
  # clip(f, 0, 1/s). Avoids a full HSV round trip and is exact at f = 1.
  r, g, b = _planes(x)
  v = jnp.maximum(jnp.maximum(r, g), b)
  chroma = v - jnp.minimum(jnp.minimum(r, g), b)
  max_ratio = jnp.where(chroma > 0, v / jnp.where(chroma > 0, chroma, 1.), 1.)
  factor = jnp.asarray(factor, x.dtype)
  ratio = jnp.clip(factor, 0., max_ratio)
  keep = 1. - ratio
  return jnp.stack([c + keep * (v - c) for c in (r, g, b)], axis=-1)


@jax.jit
def _hue(x, delta):
  delta = jnp.asarray(delta, x.dtype)
  h, chroma, v = _hue_chroma_value(*_planes(x))
  rgb = _hue_chroma_value_to_rgb(h + delta, chroma, v)
  # The round trip is only exact up to rounding: keep delta = 0 exact.
  return jnp.stack([jnp.where(delta == 0, c, c2)
                    for c, c2 in zip(_planes(x), rgb)], axis=-1)


@jax.jit
def _gamma(x, gamma, gain):
  gamma = jnp.asarray(gamma, x.dtype)
  x = jnp.clip(x, 0., 1.)
  pos = x > 0
  # 0 ** gamma with a safe base: finite gradients w.r.t. image and gamma.
  powered = jnp.where(pos, jnp.where(pos, x, 1.) ** gamma,
                      (gamma == 0).astype(x.dtype))
  return jnp.asarray(gain, x.dtype) * powered


@checks.with_channel_axis
def adjust_brightness(image: ArrayLike, delta: ArrayLike) -> jax.Array:
  """Adds `delta` to every pixel, then clips to [0, 1].

  Additive, as `tf.image.adjust_brightness` and `dm_pix.adjust_brightness`
  (which does not clip). `color_jitter` uses a multiplicative factor instead,
  as SimCLR does.

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.
    delta: additive shift; scalar or broadcastable to the image (traced ok).

  Returns:
    The shifted image, same shape and dtype, in [0, 1].

  Raises:
    TypeError: non-float image. ValueError: wrong rank.

  Example:
    >>> brighter = adjust_brightness(jnp.zeros((4, 4, 3)), 0.2)
  """
  x, dtype = _prepare(image, rgb=False)
  return _finish(_brightness(x, delta), dtype)


@checks.with_channel_axis
def adjust_contrast(image: ArrayLike, factor: ArrayLike) -> jax.Array:
  """Scales each pixel's distance to its channel mean by `factor`.

  `mean + factor * (x - mean)` with the per-channel spatial mean, as
  `tf.image.adjust_contrast` and `dm_pix.adjust_contrast`, then clipped.

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.
    factor: contrast factor (1 = identity, 0 = flat mean image); traced ok.

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Raises:
    TypeError: non-float image. ValueError: wrong rank.

  Example:
    >>> flat = adjust_contrast(jnp.ones((4, 4, 3)) * 0.3, 0.5)
  """
  x, dtype = _prepare(image, rgb=False)
  return _finish(_contrast(x, factor), dtype)


@checks.with_channel_axis
def adjust_saturation(image: ArrayLike, factor: ArrayLike) -> jax.Array:
  """Multiplies the HSV saturation by `factor` (clipped to [0, 1]).

  Equals `dm_pix.adjust_saturation` / `tf.image.adjust_saturation`: hue and
  value are kept; 0 gives grey (the max channel everywhere), 1 the identity.

  Args:
    image: `(H, W, 3)` float RGB image in [0, 1].
    factor: non-negative factor; scalar or broadcastable to `(H, W)` for a
      per-pixel adjustment; traced ok.

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Raises:
    TypeError: non-float image. ValueError: wrong rank, not 3 channels, or a
      concrete negative `factor`.

  Example:
    >>> vivid = adjust_saturation(jnp.full((4, 4, 3), 0.5), 1.5)
  """
  checks.check_nonnegative(factor, "factor")
  x, dtype = _prepare(image, rgb=True)
  return _finish(_saturation(x, factor), dtype)


@checks.with_channel_axis
def adjust_hue(image: ArrayLike, delta: ArrayLike) -> jax.Array:
  """Rotates the hue by `delta` turns (1.0 = a full turn), as `dm_pix`.

  Args:
    image: `(H, W, 3)` float RGB image in [0, 1].
    delta: hue shift in turns (`tf.image.adjust_hue` uses the same unit, in
      [-1, 1]); scalar or broadcastable to `(H, W)`; traced ok.

  Returns:
    The adjusted image, same shape and dtype, in [0, 1]. `delta = 0` returns
    the input exactly.

  Raises:
    TypeError: non-float image. ValueError: wrong rank or not 3 channels.

  Example:
    >>> shifted = adjust_hue(jnp.full((4, 4, 3), 0.5), 0.25)
  """
  x, dtype = _prepare(image, rgb=True)
  return _finish(_hue(x, delta), dtype)


@checks.with_channel_axis
def adjust_gamma(image: ArrayLike, gamma: ArrayLike, *,
                 gain: ArrayLike = 1.) -> jax.Array:
  """Gamma correction `gain * image ** gamma`, as `tf.image.adjust_gamma`.

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.
    gamma: non-negative exponent (< 1 brightens, > 1 darkens); traced ok.
    gain: multiplicative gain; traced ok.

  Returns:
    The adjusted image, same shape and dtype, clipped to [0, 1].

  Raises:
    TypeError: non-float image. ValueError: wrong rank or concrete negative
      `gamma`.

  Example:
    >>> darker = adjust_gamma(jnp.full((4, 4, 3), 0.5), 2.0)
  """
  checks.check_nonnegative(gamma, "gamma")
  x, dtype = _prepare(image, rgb=False)
  return _finish(_gamma(x, gamma, gain), dtype)


# ---------------------------------------------------------------------------
# Random twins.


def _uniform(key, low, high):
  low = jnp.asarray(low, jnp.float32)
  high = jnp.asarray(high, jnp.float32)
  return jax.random.uniform(key, (), jnp.float32, low, high)


@checks.with_channel_axis
def random_brightness(key: jax.Array, image: ArrayLike, *,
                      max_delta: ArrayLike = 0.2) -> jax.Array:
  """`adjust_brightness` with a delta drawn uniformly from [-max_delta, max_delta].

  Args:
    key: PRNG key (`jax.random.key`).
    image: `(H, W, C)` float image in [0, 1].
    max_delta: non-negative bound of the additive shift.

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Example:
    >>> out = random_brightness(jax.random.key(0), jnp.zeros((4, 4, 3)))
  """
  checks.check_key(key)
  checks.check_nonnegative(max_delta, "max_delta")
  x, dtype = _prepare(image, rgb=False)
  return _finish(_brightness(x, _uniform(key, -max_delta, max_delta)), dtype)


def _check_factor_range(lower, upper):
  checks.check_nonnegative(lower, "lower")
  checks.check_interval((lower, upper), "(lower, upper)")


@checks.with_channel_axis
def random_contrast(key: jax.Array, image: ArrayLike, *,
                    lower: ArrayLike = 0.8, upper: ArrayLike = 1.2
                    ) -> jax.Array:
  """`adjust_contrast` with a factor drawn uniformly from [lower, upper].

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    lower: smallest factor (>= 0).
    upper: largest factor (>= lower).

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Example:
    >>> out = random_contrast(jax.random.key(0), jnp.zeros((4, 4, 3)))
  """
  checks.check_key(key)
  _check_factor_range(lower, upper)
  x, dtype = _prepare(image, rgb=False)
  return _finish(_contrast(x, _uniform(key, lower, upper)), dtype)


@checks.with_channel_axis
def random_saturation(key: jax.Array, image: ArrayLike, *,
                      lower: ArrayLike = 0.8, upper: ArrayLike = 1.2
                      ) -> jax.Array:
  """`adjust_saturation` with a factor drawn uniformly from [lower, upper].

  Args:
    key: PRNG key.
    image: `(H, W, 3)` float RGB image in [0, 1].
    lower: smallest factor (>= 0).
    upper: largest factor (>= lower).

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Example:
    >>> out = random_saturation(jax.random.key(0), jnp.zeros((4, 4, 3)))
  """
  checks.check_key(key)
  _check_factor_range(lower, upper)
  x, dtype = _prepare(image, rgb=True)
  return _finish(_saturation(x, _uniform(key, lower, upper)), dtype)


@checks.with_channel_axis
def random_hue(key: jax.Array, image: ArrayLike, *,
               max_delta: ArrayLike = 0.1) -> jax.Array:
  """`adjust_hue` with a delta (turns) drawn from [-max_delta, max_delta].

  Args:
    key: PRNG key.
    image: `(H, W, 3)` float RGB image in [0, 1].
    max_delta: bound of the hue shift in turns, in [0, 0.5].

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Example:
    >>> out = random_hue(jax.random.key(0), jnp.zeros((4, 4, 3)))
  """
  checks.check_key(key)
  checks.check_range(max_delta, "max_delta", 0., 0.5)
  x, dtype = _prepare(image, rgb=True)
  return _finish(_hue(x, _uniform(key, -max_delta, max_delta)), dtype)


@checks.with_channel_axis
def random_gamma(key: jax.Array, image: ArrayLike, *,
                 min_gamma: ArrayLike = 0.8, max_gamma: ArrayLike = 1.25,
                 gain: ArrayLike = 1.) -> jax.Array:
  """`adjust_gamma` with gamma drawn uniformly from [min_gamma, max_gamma].

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    min_gamma: smallest gamma (>= 0).
    max_gamma: largest gamma (>= min_gamma).
    gain: multiplicative gain.

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Example:
    >>> out = random_gamma(jax.random.key(0), jnp.zeros((4, 4, 3)))
  """
  checks.check_key(key)
  checks.check_nonnegative(min_gamma, "min_gamma")
  checks.check_interval((min_gamma, max_gamma), "(min_gamma, max_gamma)")
  x, dtype = _prepare(image, rgb=False)
  return _finish(_gamma(x, _uniform(key, min_gamma, max_gamma), gain), dtype)


@checks.with_channel_axis
def random_grayscale(key: jax.Array, image: ArrayLike, *,
                     probability: ArrayLike = 0.2) -> jax.Array:
  """Replaces the image by its 3-channel BT.601 grey with `probability`.

  Args:
    key: PRNG key.
    image: `(H, W, 3)` float RGB image in [0, 1].
    probability: chance of converting (SimCLR uses 0.2); traced ok.

  Returns:
    The image or its grey version, same shape and dtype.

  Example:
    >>> out = random_grayscale(jax.random.key(0), jnp.ones((4, 4, 3)))
  """
  checks.check_key(key)
  checks.check_probability(probability)
  x, dtype = _prepare(image, rgb=True)
  apply = jax.random.uniform(key) < probability
  return _finish(jnp.where(apply, jnp.broadcast_to(_grey(x), x.shape), x),
                 dtype)


# ---------------------------------------------------------------------------
# SimCLR colour jitter.


# SimCLR's color_jitter_nonrand order: brightness, contrast, saturation, hue.
_FIXED_ORDER = (0, 1, 2, 3)


@functools.partial(jax.jit, static_argnums=5)
def _color_jitter_draws(key, brightness, contrast, saturation, hue, dtype):
  """Random draws of `color_jitter`: (order, f_b, f_c, f_s, d_h).

  `order` is a `(4,)` int32 permutation of the op indices (0 brightness,
  1 contrast, 2 saturation, 3 hue); the factors and the hue delta are scalars
  of `dtype`.
  """
  k_order, k_b, k_c, k_s, k_h = jax.random.split(key, 5)

  def factor(k, s):
    s = jnp.asarray(s, jnp.float32)
    return _uniform(k, jnp.maximum(0., 1. - s), 1. + s).astype(dtype)

  f_b = factor(k_b, brightness)
  f_c = factor(k_c, contrast)
  f_s = factor(k_s, saturation)
  d_h = _uniform(k_h, -jnp.asarray(hue), hue).astype(dtype)
  # A row of a constant table of all 24 orders: cheaper to compile than a
  # sort-based jax.random.permutation.
  order = jnp.asarray(_ORDERS)[
      jax.random.randint(k_order, (), 0, len(_ORDERS))]
  return order, f_b, f_c, f_s, d_h


def _jitter_step(planes, op, f_b, f_c, f_s, d_h):
  """Applies op `op` (int, or traced int32 scalar) of color_jitter, clipped.

  A traced `op` would need `lax.switch`, which under `vmap` runs all four
  branches (four HSV hue round trips per position). Instead brightness,
  contrast and saturation are one blend `c * scale + w * (anchor - c)` with a
  selected anchor and weight (brightness `c * f`; contrast `c + (1 - f)
  (mean - c)`; saturation `c + (1 - ratio)(max channel - c)`, the same
  expressions as `_contrast` and `_saturation`), and the hue rotation runs
  with delta 0 (the exact identity) where hue is not the op. Every non-chosen
  op is thus an exact identity, and one position costs one blend and one hue
  rotation. A Python int `op` keeps only its own op.
  """
  static = isinstance(op, int)

  def pick(index, yes, no):
    if static:
      return yes if op == index else no
    return jnp.where(op == index, yes, no)

  if not (static and op == 3):
    r, g, b = planes
    v = jnp.maximum(jnp.maximum(r, g), b)
    chroma = v - jnp.minimum(jnp.minimum(r, g), b)
    max_ratio = jnp.where(chroma > 0, v / jnp.where(chroma > 0, chroma, 1.),
                          1.)
    keep = 1. - jnp.clip(f_s, 0., max_ratio)
    one = jnp.ones((), f_b.dtype)
    zero = jnp.zeros((), f_b.dtype)
    scale = pick(0, f_b, one)
    weight = pick(1, 1. - f_c, pick(2, keep, zero))
    planes = tuple(
        c * scale + weight * (pick(1, jnp.mean(c), pick(2, v, zero)) - c)
        for c in planes)
  if not static or op == 3:
    delta = pick(3, d_h, jnp.zeros((), d_h.dtype))
    h, chroma, v = _hue_chroma_value(*planes)
    rgb = _hue_chroma_value_to_rgb(h + delta, chroma, v)
    # The round trip is only exact up to rounding: keep delta = 0 exact.
    planes = tuple(jnp.where(delta == 0, c, c2) for c, c2 in zip(planes, rgb))
  return tuple(jnp.clip(c, 0., 1.) for c in planes)


def _color_jitter_apply(x, order, f_b, f_c, f_s, d_h):
  """Applies the four jitter ops to `(H, W, 3)` `x` in `order`.

  `order` is a traced `(4,)` permutation or a static tuple. The work is done
  on three `(H, W)` planes (stacked once at the end): the interleaved layout
  makes every per-channel expression a stride-3 access, which XLA:CPU
  vectorises poorly.
  """
  planes = _planes(x)
  for i in range(4):
    op = order[i] if isinstance(order, jax.Array) else int(order[i])
    planes = _jitter_step(planes, op, f_b, f_c, f_s, d_h)
  return jnp.stack(planes, axis=-1)


_color_jitter_random = jax.jit(_color_jitter_apply)
_color_jitter_fixed = jax.jit(functools.partial(_color_jitter_apply,
                                                order=_FIXED_ORDER))


@checks.with_channel_axis
def color_jitter(key: jax.Array, image: ArrayLike, *,
                 brightness: ArrayLike = 0., contrast: ArrayLike = 0.,
                 saturation: ArrayLike = 0., hue: ArrayLike = 0.,
                 random_order: bool = True) -> jax.Array:
  """Colour jitter with the semantics of SimCLR's `color_jitter_rand`.

  Brightness, contrast and saturation factors are drawn uniformly from
  `[max(0, 1 - s), 1 + s]` for their strength `s`; brightness is
  multiplicative (`image * factor`, SimCLR v2 / torchvision), contrast is
  around the per-channel mean (`tf.image`), saturation is the HSV one, and the
  hue delta (turns) is drawn from `[-hue, hue]`. The four ops run in a random
  order (a sampled permutation, as data, so it works under `jit` and `vmap`),
  each followed by a clip to [0, 1]. Each position costs one blend and one
  hue rotation whatever the order (under `vmap`, a `lax.switch` over the ops
  would run every branch). An op whose strength is 0 is the identity exactly
  (the others still apply); all strengths 0 return the input unchanged.
  SimCLR's recipe for colour strength `s` is
  `brightness = contrast = saturation = 0.8 s`, `hue = 0.2 s`.

  Args:
    key: PRNG key.
    image: `(H, W, 3)` float RGB image in [0, 1].
    brightness: non-negative strength (traced ok).
    contrast: non-negative strength (traced ok).
    saturation: non-negative strength (traced ok).
    hue: hue strength in turns, in [0, 0.5] (traced ok).
    random_order: if False, apply brightness, contrast, saturation, hue in
      that order (SimCLR's `color_jitter_nonrand`). Static.

  Returns:
    The jittered image, same shape and dtype, in [0, 1].

  Raises:
    TypeError: bad key or non-float image. ValueError: wrong rank, not 3
      channels, or a concrete strength out of range.

  Example:
    >>> out = color_jitter(jax.random.key(0), jnp.full((8, 8, 3), 0.5),
    ...                    brightness=0.8, contrast=0.8, saturation=0.8,
    ...                    hue=0.2)
  """
  checks.check_key(key)
  for value, name in ((brightness, "brightness"), (contrast, "contrast"),
                      (saturation, "saturation")):
    checks.check_nonnegative(value, name)
  checks.check_range(hue, "hue", 0., 0.5)
  x, dtype = _prepare(image, rgb=True)
  order, f_b, f_c, f_s, d_h = _color_jitter_draws(
      key, brightness, contrast, saturation, hue, x.dtype)
  if random_order:
    out = _color_jitter_random(x, order, f_b, f_c, f_s, d_h)
  else:
    out = _color_jitter_fixed(x, f_b=f_b, f_c=f_c, f_s=f_s, d_h=d_h)
  return out.astype(dtype)


# ---------------------------------------------------------------------------
# PIL-style ops (ImageOps / ImageEnhance semantics on float images).


@checks.with_channel_axis
def invert(image: ArrayLike) -> jax.Array:
  """Returns `1 - image` (PIL `ImageOps.invert`).

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.

  Returns:
    The inverted image, same shape and dtype.

  Example:
    >>> out = invert(jnp.zeros((4, 4, 3)))  # all ones
  """
  x, dtype = _prepare(image, rgb=False)
  return _finish(1. - x, dtype)


@checks.with_channel_axis
def solarize(image: ArrayLike, *, threshold: ArrayLike = 0.5) -> jax.Array:
  """Inverts the pixels at or above `threshold` (PIL `ImageOps.solarize`).

  PIL's `threshold=t` on 8-bit images corresponds to `threshold=t / 255`.

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.
    threshold: values `>= threshold` become `1 - value`; traced ok.

  Returns:
    The solarized image, same shape and dtype.

  Example:
    >>> out = solarize(jnp.linspace(0, 1, 12).reshape(2, 2, 3))
  """
  x, dtype = _prepare(image, rgb=False)
  return _finish(jnp.where(x < jnp.asarray(threshold, x.dtype), x, 1. - x),
                 dtype)


@checks.with_channel_axis
def random_solarize(key: jax.Array, image: ArrayLike, *,
                    threshold: ArrayLike = 0.5,
                    probability: ArrayLike = 0.5) -> jax.Array:
  """Applies `solarize(image, threshold)` with `probability` (BYOL uses 0.2).

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    threshold: solarization threshold in [0, 1].
    probability: chance of solarizing.

  Returns:
    The image or its solarized version, same shape and dtype.

  Example:
    >>> out = random_solarize(jax.random.key(0), jnp.ones((4, 4, 3)))
  """
  checks.check_key(key)
  checks.check_probability(probability)
  x, dtype = _prepare(image, rgb=False)
  apply = jax.random.uniform(key) < probability
  solar = jnp.where(x < jnp.asarray(threshold, x.dtype), x, 1. - x)
  return _finish(jnp.where(apply, solar, x), dtype)


def _to_levels(x: jax.Array) -> jax.Array:
  """8-bit levels 0..255 (int32) of a [0, 1] float image."""
  return jnp.round(jnp.clip(x, 0., 1.) * 255.).astype(jnp.int32)


@checks.with_channel_axis
def posterize(image: ArrayLike, bits: ArrayLike) -> jax.Array:
  """Keeps the `bits` most significant bits of each 8-bit level (PIL).

  The image is quantised to 8-bit levels `round(255 x)`, the low `8 - bits`
  bits are zeroed (`ImageOps.posterize`), and the result is divided by 255.
  The gradient w.r.t. the image is zero (piecewise constant).

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.
    bits: integer in [1, 8] (8 = quantisation only); traced ok.

  Returns:
    The posterized image, same shape and dtype.

  Raises:
    ValueError: a concrete `bits` outside [1, 8].

  Example:
    >>> out = posterize(jnp.full((4, 4, 3), 0.7), 2)
  """
  checks.check_range(bits, "bits", 1, 8)
  x, dtype = _prepare(image, rgb=False)
  bits = jnp.clip(jnp.round(jnp.asarray(bits)).astype(jnp.int32), 1, 8)
  mask = jnp.bitwise_not(jnp.left_shift(1, 8 - bits) - 1)
  return _finish(jnp.bitwise_and(_to_levels(x), mask).astype(x.dtype) / 255.,
                 dtype)


@jax.jit
def _equalize(x):
  h, w, c = x.shape
  levels = _to_levels(x).reshape(h * w, c)
  # One segment per (channel, level) pair: a single scatter-add for all.
  seg = levels + 256 * jnp.arange(c, dtype=jnp.int32)
  hist = jax.ops.segment_sum(jnp.ones_like(seg).ravel(), seg.ravel(),
                             num_segments=256 * c).reshape(c, 256)
  occupied = hist > 0
  last_level = 255 - jnp.argmax(occupied[:, ::-1], axis=1)
  last_count = jnp.take_along_axis(hist, last_level[:, None], axis=1)[:, 0]
  step = (h * w - last_count) // 255
  keep = (jnp.sum(occupied, axis=1) <= 1) | (step == 0)
  below = jnp.cumsum(hist, axis=1) - hist
  safe_step = jnp.where(keep, 1, step)[:, None]
  lut = jnp.clip((safe_step // 2 + below) // safe_step, 0, 255)
  mapped = jnp.take_along_axis(lut, levels.T, axis=1).T.reshape(h, w, c)
  out = jnp.where(keep, x, mapped.astype(x.dtype) / 255.)
  return out


@checks.with_channel_axis
def equalize(image: ArrayLike) -> jax.Array:
  """Per-channel 256-bin histogram equalisation (PIL `ImageOps.equalize`).

  Each channel is quantised to 8-bit levels and remapped with PIL's lookup
  table `lut[i] = (step // 2 + #pixels below level i) // step`, where
  `step = (#pixels - #pixels in the highest occupied level) // 255`. A
  channel with a single occupied level, or `step = 0`, is returned unchanged
  (the float input itself). The histogram is a `segment_sum` (no Python
  loops), so the op works under `jit` and `vmap`. Zero gradient w.r.t. the
  image where equalised.

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.

  Returns:
    The equalised image, same shape and dtype; on images of 8-bit levels it
    equals PIL's result exactly.

  Example:
    >>> out = equalize(jnp.linspace(0, 0.5, 48).reshape(4, 4, 3))
  """
  x, dtype = _prepare(image, rgb=False)
  return _finish(_equalize(x), dtype)


@checks.with_channel_axis
def autocontrast(image: ArrayLike) -> jax.Array:
  """Stretches each channel so that its minimum maps to 0 and maximum to 1.

  Continuous version of PIL `ImageOps.autocontrast(cutoff=0)`: PIL truncates
  the stretched 8-bit values, so it is up to one level (1/255) below this
  result. Constant channels are returned unchanged; no NaN in value or
  gradient.

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.

  Returns:
    The stretched image, same shape and dtype.

  Example:
    >>> out = autocontrast(jnp.linspace(0.2, 0.6, 48).reshape(4, 4, 3))
  """
  x, dtype = _prepare(image, rgb=False)
  lo = jnp.min(x, axis=(0, 1), keepdims=True)
  hi = jnp.max(x, axis=(0, 1), keepdims=True)
  span = hi - lo
  stretched = (x - lo) / jnp.where(span > 0, span, 1.)
  return _finish(jnp.where(span > 0, stretched, x), dtype)


@jax.jit
def _sharpness(x, factor):
  h, w, _ = x.shape
  if h < 3 or w < 3:
    return x  # Every pixel is a border pixel, which PIL leaves unchanged.
  # PIL's SMOOTH filter [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 on the interior.
  total = 4. * x[1:-1, 1:-1]
  for dy in range(3):
    for dx in range(3):
      total = total + x[dy:h - 2 + dy, dx:w - 2 + dx]
  smooth = x.at[1:-1, 1:-1].set(total / 13.)
  # blend(smooth, x, f) written as x + (1 - f)(smooth - x): exact at f = 1.
  return x + (1. - jnp.asarray(factor, x.dtype)) * (smooth - x)


@checks.with_channel_axis
def adjust_sharpness(image: ArrayLike, factor: ArrayLike) -> jax.Array:
  """Sharpens (factor > 1) or softens (factor < 1) as PIL `ImageEnhance.Sharpness`.

  Blends the image with its 3x3 smoothed version (kernel
  `[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13`, border pixels unchanged):
  `smooth + factor * (image - smooth)`, clipped. PIL rounds the smoothed image
  and truncates the blend to 8 bits; this float version does not (differences
  below 2/255).

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.
    factor: 0 = smoothed, 1 = identity (exactly), 2 = sharpened; traced ok.

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Example:
    >>> out = adjust_sharpness(jnp.linspace(0, 1, 75).reshape(5, 5, 3), 2.0)
  """
  x, dtype = _prepare(image, rgb=False)
  return _finish(_sharpness(x, factor), dtype)


@checks.with_channel_axis
def random_sharpness(key: jax.Array, image: ArrayLike, *,
                     lower: ArrayLike = 0.5, upper: ArrayLike = 1.5
                     ) -> jax.Array:
  """`adjust_sharpness` with a factor drawn uniformly from [lower, upper].

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    lower: smallest factor (>= 0).
    upper: largest factor (>= lower).

  Returns:
    The adjusted image, same shape and dtype, in [0, 1].

  Example:
    >>> out = random_sharpness(jax.random.key(0), jnp.ones((8, 8, 3)))
  """
  checks.check_key(key)
  _check_factor_range(lower, upper)
  x, dtype = _prepare(image, rgb=False)
  return _finish(_sharpness(x, _uniform(key, lower, upper)), dtype)
