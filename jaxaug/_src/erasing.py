"""Erasing: cutout and random erasing (Zhong et al., 2020).

Images are `(H, W, C)` float in [0, 1]. Boxes are `(top, left, height,
width)` in pixels and may be traced: the erased region is a mask built from
comparisons of the pixel coordinates with the box edges, so there are no
dynamic shapes and the ops run under `jit` and `vmap` (one box per example).
"""

from __future__ import annotations

from typing import Any, Sequence, Union

import jax
import jax.numpy as jnp

from jaxaug._src import checks

# Attempts at drawing a box that fits, as in torchvision's RandomErasing; all
# are drawn at once and the first that fits is used (no data-dependent loop).
_NUM_ATTEMPTS = 10


def _box_mask(height: int, width: int, top: Any, left: Any, box_h: Any,
              box_w: Any) -> jax.Array:
  """Boolean `(H, W, 1)` mask of the pixels with top <= i < top + h, etc."""
  rows = jnp.arange(height, dtype=jnp.float32)[:, None, None]
  cols = jnp.arange(width, dtype=jnp.float32)[None, :, None]
  top, left, box_h, box_w = (jnp.asarray(v, jnp.float32)
                             for v in (top, left, box_h, box_w))
  return ((rows >= top) & (rows < top + box_h) & (cols >= left) &
          (cols < left + box_w))


def _fill_value(value: Any, image: jax.Array) -> jax.Array:
  v = jnp.asarray(value, image.dtype)
  if v.ndim > 1 or (v.ndim == 1 and v.shape[0] not in (1, image.shape[-1])):
    raise ValueError(f"value must be a scalar or one value per channel "
                     f"({image.shape[-1]}), got shape {tuple(v.shape)}")
  return jnp.clip(v, 0.0, 1.0)


@checks.with_channel_axis
def cutout(image: jax.typing.ArrayLike, box: Union[Sequence[Any],
                                                   jax.typing.ArrayLike], *,
           value: Any = 0.0) -> jax.Array:
  """Fills a rectangle of the image with a constant (DeVries & Taylor, 2017).

  Pixel `(i, j)` is filled when `top <= i < top + height` and
  `left <= j < left + width`; parts of the box outside the image are ignored
  and a box of zero height or width leaves the image unchanged. The box
  values may be traced (and fractional: the comparison is done in float).

  Args:
    image: `(H, W, C)` float image in [0, 1].
    box: `(top, left, height, width)` in pixels; a sequence of 4 scalars or
      an array of shape `(4,)`, possibly traced.
    value: fill value in [0, 1], a scalar or one value per channel `(C,)`;
      may be traced. Clipped to [0, 1].
    channel_axis: axis holding the channels (default -1).

  Returns:
    The image with the box filled; same shape and dtype, values in [0, 1].
    Differentiable with respect to `image` (zero gradient inside the box).

  Raises:
    TypeError: `image` is not a float array.
    ValueError: `image` is not rank 3, `box` does not have 4 entries, or
      `value` has the wrong shape.

  Example:
    >>> import jax.numpy as jnp, jaxaug
    >>> out = jaxaug.cutout(jnp.ones((8, 8, 3)), (2, 2, 4, 4))
    >>> float(out.mean())
    0.75
  """
  image = checks.check_image(image)
  if not isinstance(box, (tuple, list)):
    box = jnp.asarray(box)
    if box.shape != (4,):
      raise ValueError(f"box must be (top, left, height, width), 4 values, "
                       f"got shape {tuple(box.shape)}")
  elif len(box) != 4:
    raise ValueError(f"box must be (top, left, height, width), 4 values, got "
                     f"{len(box)} values")
  top, left, box_h, box_w = (box[i] for i in range(4))
  fill = _fill_value(value, image)
  h, w = image.shape[:2]
  mask = _box_mask(h, w, top, left, box_h, box_w)
  return jnp.where(mask, fill, image).astype(image.dtype)


@checks.with_channel_axis
def random_erasing(key: jax.Array, image: jax.typing.ArrayLike, *,
                   probability: Any = 0.5,
                   area: tuple[Any, Any] = (0.02, 1.0 / 3.0),
                   aspect_ratio: tuple[Any, Any] = (0.3, 3.3),
                   value: Any = 0.0) -> jax.Array:
  """Erases a random rectangle with probability `probability` (Zhong et al.).

  With probability `probability` a box is drawn as in torchvision's
  `RandomErasing`: target area fraction `a ~ U(area)`, aspect ratio
  `r = h / w` log-uniform in `aspect_ratio`, `h = round(sqrt(a H W r))`,
  `w = round(sqrt(a H W / r))`, and a uniformly placed top-left corner. Ten
  such boxes are drawn at once and the first one that fits inside the image
  and whose rounded area fraction `h w / (H W)` lies in `area` is erased; if
  none qualifies the image is returned unchanged. So the erased fraction of
  an erased image always lies inside `area`.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    probability: chance of erasing, in [0, 1]; may be traced.
    area: `(low, high)` range of the erased area fraction, in [0, 1].
    aspect_ratio: `(low, high)` range of the box aspect ratio height/width,
      both positive.
    value: fill value: a scalar or `(C,)` in [0, 1] (may be traced), or
      `"random"` for independent uniform [0, 1) noise per erased pixel and
      channel (torchvision uses normal noise, which would leave [0, 1]).
    channel_axis: axis holding the channels (default -1).

  Returns:
    The image, possibly with one box erased; same shape and dtype, values in
    [0, 1].

  Raises:
    TypeError: `key` is not a PRNG key or `image` is not a float array.
    ValueError: `probability` outside [0, 1], bad `area` or `aspect_ratio`
      ranges, or bad `value`.

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> out = jaxaug.random_erasing(jax.random.key(0), jnp.ones((16, 16, 3)),
    ...                             probability=1.0)
    >>> out.shape
    (16, 16, 3)
  """
  checks.check_key(key)
  image = checks.check_image(image)
  checks.check_probability(probability, "probability")
  a_lo, a_hi = checks.check_interval(area, "area", 0.0, 1.0)
  r_lo, r_hi = checks.check_interval(aspect_ratio, "aspect_ratio")
  checks.check_positive(r_lo, "aspect_ratio[0]")
  checks.check_positive(r_hi, "aspect_ratio[1]")
  random_fill = isinstance(value, str)
  if random_fill:
    checks.check_choice(value, "value", ["random"])
  else:
    fill = _fill_value(value, image)

  h, w = image.shape[:2]
  k_apply, k_area, k_ratio, k_top, k_left, k_noise = jax.random.split(key, 6)
  frac = jax.random.uniform(k_area, (_NUM_ATTEMPTS,), minval=a_lo,
                            maxval=a_hi)
  log_r = jax.random.uniform(
      k_ratio, (_NUM_ATTEMPTS,),
      minval=jnp.log(jnp.asarray(r_lo, jnp.float32)),
      maxval=jnp.log(jnp.asarray(r_hi, jnp.float32)))
  r = jnp.exp(log_r)
  target = frac * (h * w)
  box_h = jnp.round(jnp.sqrt(target * r))
  box_w = jnp.round(jnp.sqrt(target / r))
  got = box_h * box_w / (h * w)
  fits = ((box_h >= 1) & (box_w >= 1) & (box_h <= h) & (box_w <= w) &
          (got >= a_lo) & (got <= a_hi))
  idx = jnp.argmax(fits)
  any_fits = fits[idx]
  box_h, box_w = box_h[idx], box_w[idx]
  # floor(u * (n + 1)) is uniform over the n + 1 valid offsets; the minimum
  # guards the (measure-zero) u == 1 rounding case.
  top = jnp.minimum(
      jnp.floor(jax.random.uniform(k_top) * (h - box_h + 1)), h - box_h)
  left = jnp.minimum(
      jnp.floor(jax.random.uniform(k_left) * (w - box_w + 1)), w - box_w)
  apply = (jax.random.uniform(k_apply) < probability) & any_fits
  mask = _box_mask(h, w, top, left, box_h, box_w) & apply
  if random_fill:
    fill = jax.random.uniform(k_noise, image.shape, image.dtype)
  return jnp.where(mask, fill, image).astype(image.dtype)
