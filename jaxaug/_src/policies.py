"""Augmentation policies: RandAugment and TrivialAugment (wide).

Both draw ops from the 14-op set of torchvision's `RandAugment` /
`TrivialAugmentWide` and select them with `lax.switch`, so they run under
`jit` and `vmap` (every example draws its own ops) and the magnitude may be
a traced array. Images are `(H, W, C)` float in [0, 1] with 3 (RGB) or 1
channels; the output keeps shape and dtype and stays in [0, 1].

Op table (`m` = magnitude fraction in [0, 1], i.e. bin / (num_bins - 1);
"signed" ops flip the sign with probability 1/2):

| # | op           | RandAugment value          | TrivialAugmentWide value | signed |
|---|--------------|----------------------------|--------------------------|--------|
| 0 | identity     | -                          | -                        |        |
| 1 | shear_x      | 0.3 m (shear coefficient)  | 0.99 m                   | yes    |
| 2 | shear_y      | 0.3 m                      | 0.99 m                   | yes    |
| 3 | translate_x  | (150/331) W m pixels       | 32 m pixels              | yes    |
| 4 | translate_y  | (150/331) H m pixels       | 32 m pixels              | yes    |
| 5 | rotate       | 30 m degrees               | 135 m degrees            | yes    |
| 6 | brightness   | factor 1 + 0.9 m           | factor 1 + 0.99 m        | yes    |
| 7 | color        | factor 1 + 0.9 m           | factor 1 + 0.99 m        | yes    |
| 8 | contrast     | factor 1 + 0.9 m           | factor 1 + 0.99 m        | yes    |
| 9 | sharpness    | factor 1 + 0.9 m           | factor 1 + 0.99 m        | yes    |
|10 | posterize    | 8 - round(4 m) bits        | 8 - round(6 m) bits      |        |
|11 | solarize     | threshold 1 - m            | threshold 1 - m          |        |
|12 | autocontrast | -                          | -                        |        |
|13 | equalize     | -                          | -                        |        |

Semantics follow torchvision/PIL on float images (the "torchvision" colour
convention of `jaxaug`): brightness multiplies (`scale_brightness`, a blend
with black), color blends with the luma image (`adjust_saturation(...,
convention="torchvision")`, PIL `ImageEnhance.Color`; identity for 1-channel
images), contrast blends with the mean grey level (`adjust_contrast(...,
convention="torchvision")`, PIL `ImageEnhance.Contrast`), sharpness is
`jaxaug.adjust_sharpness`, posterize/solarize/autocontrast/equalize are the
`jaxaug` ops (solarize inverts values `>= threshold`, so at `m = 0` only
pure white is inverted, as in torchvision). The geometric ops act about the
image centre (torchvision shears about the top-left corner), resample
bilinearly, and fill uncovered pixels with the constant `fill` (default 0.5
grey, as TensorFlow's RandAugment uses 128; torchvision uses 0). All five
geometric ops share ONE resampling call (the branch only picks its matrix),
which keeps `vmap` cheap.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxaug._src import checks
from jaxaug._src import color
from jaxaug._src import geometric

OP_NAMES = ("identity", "shear_x", "shear_y", "translate_x", "translate_y",
            "rotate", "brightness", "color", "contrast", "sharpness",
            "posterize", "solarize", "autocontrast", "equalize")
NUM_OPS = len(OP_NAMES)
_SIGNED = (False, True, True, True, True, True, True, True, True, True,
           False, False, False, False)
_GEOMETRIC = (1, 2, 3, 4, 5)


def _max_values(hw: tuple[int, int], wide: bool) -> tuple[float, ...]:
  """Value at m = 1 of each op (0 for ops without magnitude)."""
  h, w = hw
  if wide:
    shear, tx, ty, rot, enh = 0.99, 32.0, 32.0, 135.0, 0.99
  else:
    shear, tx, ty, rot, enh = 0.3, 150 / 331 * w, 150 / 331 * h, 30.0, 0.9
  return (0., shear, shear, tx, ty, rot, enh, enh, enh, enh, 0., 0., 0., 0.)


def apply_op(image: jax.typing.ArrayLike, op_index: Any, level: Any, *,
             sign: Any = 1.0, wide: bool = False,
             fill: Any = 0.5) -> jax.Array:
  """Applies policy op number `op_index` (see the module table).

  Args:
    image: `(H, W, C)` float image in [0, 1], C = 1 or 3.
    op_index: integer in [0, 14), may be traced (selected by `lax.switch`).
    level: magnitude fraction m in [0, 1] (clipped), may be traced.
    sign: +1 or -1, applied to the signed ops; may be traced.
    wide: static; use TrivialAugmentWide ranges instead of RandAugment's.
    fill: constant for pixels uncovered by a geometric op, in [0, 1].

  Returns:
    The augmented image, same shape and dtype, in [0, 1].
  """
  x, dtype = checks.image_in(image, channels=(1, 3))
  h, w = x.shape[:2]
  idx = jnp.clip(jnp.asarray(op_index, jnp.int32), 0, NUM_OPS - 1)
  level = jnp.clip(jnp.asarray(level, jnp.float32), 0.0, 1.0)
  sign = jnp.asarray(sign, jnp.float32)
  maxes = jnp.asarray(_max_values((h, w), wide), jnp.float32)
  signed = jnp.asarray(_SIGNED)[idx]
  v = maxes[idx] * level * jnp.where(signed, sign, 1.0)

  cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
  eye = jnp.eye(3, dtype=jnp.float32)

  def shear_y_matrix(s):
    return eye.at[0, 1].set(-s).at[0, 2].set(s * cx)

  # Geometric branches only choose an output->input matrix; one resampling.
  matrix_fns = [lambda s: eye] * NUM_OPS
  matrix_fns[1] = lambda s: geometric.shear_matrix(s, (h, w))
  matrix_fns[2] = shear_y_matrix
  matrix_fns[3] = lambda t: eye.at[1, 2].set(-t)
  matrix_fns[4] = lambda t: eye.at[0, 2].set(-t)
  matrix_fns[5] = lambda deg: geometric.rotation_matrix(
      deg * (math.pi / 180.0), (h, w))
  matrix = lax.switch(idx, matrix_fns, v)
  warped = geometric.affine_transform(x, matrix, order=1, mode="constant",
                                      cval=fill)

  max_bits_drop = 6.0 if wide else 4.0
  bits = 8 - jnp.round(level * max_bits_drop).astype(jnp.int32)

  def brightness(y):
    return color.scale_brightness(y, 1.0 + v)

  def color_op(y):
    return color.adjust_saturation(y, 1.0 + v, convention="torchvision")

  def contrast(y):
    return color.adjust_contrast(y, 1.0 + v, convention="torchvision")

  geo = lambda y: warped
  branches = [
      lambda y: y, geo, geo, geo, geo, geo, brightness, color_op, contrast,
      lambda y: color.adjust_sharpness(y, 1.0 + v),
      lambda y: color.posterize(y, bits),
      lambda y: color.solarize(y, threshold=1.0 - level),
      color.autocontrast,
      color.equalize,
  ]
  out = lax.switch(idx, branches, x)
  return checks.image_out(out, dtype)


def _check_bins(num_magnitude_bins: Any) -> int:
  if (not isinstance(num_magnitude_bins, int) or
      isinstance(num_magnitude_bins, bool) or num_magnitude_bins < 2):
    raise ValueError(f"num_magnitude_bins must be a static int >= 2, got "
                     f"{num_magnitude_bins!r}")
  return num_magnitude_bins


@checks.with_channel_axis
def rand_augment(key: jax.Array, image: jax.typing.ArrayLike, *,
                 num_ops: int = 2, magnitude: Any = 9.0,
                 num_magnitude_bins: int = 31,
                 fill: Any = 0.5) -> jax.Array:
  """RandAugment (Cubuk et al., 2020) with torchvision's op set and ranges.

  Applies `num_ops` ops in sequence, each drawn uniformly from the 14 ops
  of the module table (with replacement), all at the same magnitude; signed
  ops get a random sign each. The magnitude fraction is
  `m = magnitude / (num_magnitude_bins - 1)` (torchvision's bin values,
  linearly interpolated for fractional magnitudes).

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1], C = 3 (or 1: color op is the
      identity).
    num_ops: static number of ops applied in sequence, >= 0.
    magnitude: in [0, num_magnitude_bins - 1]; may be traced (e.g. sampled
      per example under `vmap`): a traced value outside the range is
      clipped to it, a concrete one raises.
    num_magnitude_bins: static int >= 2 (torchvision default 31).
    fill: constant in [0, 1] for pixels uncovered by geometric ops (0.5
      grey; torchvision uses 0).
    channel_axis: axis holding the channels (default -1).

  Returns:
    The augmented image, same shape and dtype, values in [0, 1].

  Raises:
    TypeError: bad key or non-float image; `magnitude` not a real number
      (a bool, string or None).
    ValueError: `num_ops` not a non-negative int, `magnitude` not a scalar
      or outside [0, num_magnitude_bins - 1], bad `num_magnitude_bins` or
      `fill`, or
      a channel count other than 1 or 3.

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> out = jaxaug.rand_augment(jax.random.key(0), jnp.full((16, 16, 3), .5),
    ...                           num_ops=2, magnitude=9)
    >>> out.shape
    (16, 16, 3)
  """
  checks.check_key(key)
  image = checks.check_image(image, channels=(1, 3))
  if (not isinstance(num_ops, int) or isinstance(num_ops, bool) or
      num_ops < 0):
    raise ValueError(f"num_ops must be a static int >= 0, got {num_ops!r}")
  bins = _check_bins(num_magnitude_bins)
  checks.check_real(magnitude, "magnitude",
                    f"a magnitude bin in [0, {bins - 1}] (default 9)")
  if isinstance(magnitude, numbers.Real):  # e.g. a Fraction
    magnitude = float(magnitude)
  checks.check_scalar(magnitude, "magnitude", "one magnitude for every "
                      "example (vmap the op for per-example magnitudes)")
  checks.check_range(magnitude, "magnitude", 0, bins - 1)
  checks.check_range(fill, "fill", 0.0, 1.0)
  level = jnp.asarray(magnitude, jnp.float32) / (bins - 1)
  x = image
  for k in jax.random.split(key, num_ops):
    k_op, k_sign = jax.random.split(k)
    idx = jax.random.randint(k_op, (), 0, NUM_OPS)
    sign = jnp.where(jax.random.bernoulli(k_sign), 1.0, -1.0)
    x = apply_op(x, idx, level, sign=sign, wide=False, fill=fill)
  return x


@checks.with_channel_axis
def trivial_augment(key: jax.Array, image: jax.typing.ArrayLike, *,
                    num_magnitude_bins: int = 31,
                    fill: Any = 0.5) -> jax.Array:
  """TrivialAugment Wide (Müller & Hutter, 2021), torchvision's op set.

  Applies ONE op drawn uniformly from the 14 ops of the module table at a
  magnitude bin drawn uniformly from `{0, ..., num_magnitude_bins - 1}`
  (wide ranges), with a random sign for signed ops.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1], C = 3 (or 1).
    num_magnitude_bins: static int >= 2 (torchvision default 31).
    fill: constant in [0, 1] for pixels uncovered by geometric ops.
    channel_axis: axis holding the channels (default -1).

  Returns:
    The augmented image, same shape and dtype, values in [0, 1].

  Raises:
    TypeError: bad key or non-float image.
    ValueError: bad `num_magnitude_bins` or `fill`, or a channel count
      other than 1 or 3.

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> out = jaxaug.trivial_augment(jax.random.key(0),
    ...                              jnp.full((16, 16, 3), .5))
    >>> out.shape
    (16, 16, 3)
  """
  checks.check_key(key)
  image = checks.check_image(image, channels=(1, 3))
  bins = _check_bins(num_magnitude_bins)
  checks.check_range(fill, "fill", 0.0, 1.0)
  k_op, k_bin, k_sign = jax.random.split(key, 3)
  idx = jax.random.randint(k_op, (), 0, NUM_OPS)
  level = jax.random.randint(k_bin, (), 0, bins).astype(jnp.float32) / (
      bins - 1)
  sign = jnp.where(jax.random.bernoulli(k_sign), 1.0, -1.0)
  return apply_op(image, idx, level, sign=sign, wide=True, fill=fill)
