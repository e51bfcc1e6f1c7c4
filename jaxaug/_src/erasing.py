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
import numpy as np

from jaxaug._src import boxes
from jaxaug._src import checks


def _fill_value(value: Any, image: jax.Array) -> jax.Array:
  v = jnp.asarray(value, image.dtype)
  c = image.shape[-1]
  if not (v.ndim == 0 or (v.ndim == 1 and v.shape[0] in (1, c)) or
          v.shape == image.shape):
    raise ValueError(f"value must be a scalar, one value per channel ({c}) "
                     f"or an array of the image's shape {image.shape}, got "
                     f"shape {tuple(v.shape)}")
  return checks.check_values(v, name="value", hint=False)


@checks.with_channel_axis
def cutout(image: jax.typing.ArrayLike, box: Union[Sequence[Any],
                                                   jax.typing.ArrayLike], *,
           value: Any = 0.0) -> jax.Array:
  """Fills a rectangle of the image with a constant (DeVries & Taylor, 2017).

  Pixel `(i, j)` is filled when `top <= i < top + height` and
  `left <= j < left + width` (`boxes.box_mask`); parts of the box outside
  the image are ignored and a box of zero height or width leaves the image
  unchanged. The box values may be traced (and fractional: the comparison is
  done in float).

  Args:
    image: `(H, W, C)` float image in [0, 1].
    box: `(top, left, height, width)` in pixels; a sequence of 4 scalars or
      an array of shape `(4,)`, possibly traced.
    value: fill value in [0, 1]: a scalar, one value per channel `(C,)`, or
      an array of the image's shape (e.g. noise); may be traced (then
      clipped to [0, 1]).
    channel_axis: axis holding the channels (default -1).

  Returns:
    The image with the box filled; same shape and dtype, values in [0, 1].
    Differentiable with respect to `image` (zero gradient inside the box).

  Raises:
    TypeError: `image` is not a float array.
    ValueError: `image` is not rank 3, `box` does not have 4 entries,
      `value` has the wrong shape, or a concrete `image` or `value` is
      outside [0, 1].

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
  mask = boxes.box_mask(image.shape[:2], top, left, box_h, box_w)
  return jnp.where(mask, fill, image).astype(image.dtype)


@checks.with_channel_axis
def random_erasing(key: jax.Array, image: jax.typing.ArrayLike, *,
                   probability: Any = 0.5,
                   area: tuple[Any, Any] = (0.02, 1.0 / 3.0),
                   aspect_ratio: tuple[Any, Any] = (0.3, 3.3),
                   value: Any = 0.0) -> jax.Array:
  """Erases a random rectangle with probability `probability` (Zhong et al.).

  With probability `probability` a box is drawn as in torchvision's
  `RandomErasing` (`boxes.sample_box` with whole-pixel sides): target area
  fraction `a ~ U(area)`, aspect ratio `r = w / h` log-uniform in
  `aspect_ratio`, `w = round(sqrt(a H W r))`, `h = round(sqrt(a H W / r))`,
  and a uniformly placed top-left corner. Ten such boxes are drawn at once
  and the first one that fits inside the image and whose rounded area
  fraction `h w / (H W)` lies in `area` is erased with `cutout`; if none
  qualifies the image is returned unchanged. So the erased fraction of an
  erased image always lies inside `area`. (torchvision's `ratio` is height
  / width; jaxaug's `aspect_ratio` is width / height everywhere. The default
  range is symmetric in log space, so the default draws are alike.)

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    probability: chance of erasing, in [0, 1]; may be traced.
    area: `(low, high)` range of the erased area fraction, in [0, 1].
    aspect_ratio: `(low, high)` range of the box aspect ratio width /
      height, both positive.
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
  boxes.check_box_ranges(area, aspect_ratio)
  if isinstance(value, str):
    checks.check_choice(value, "value", ["random"])
  elif not isinstance(value, jax.core.Tracer):
    # Checked as given: in an eager call (run as one compiled call, options
    # static) the value converted inside the trace would be a tracer.
    checks.check_values(np.asarray(value, np.float32), name="value",
                        hint=False)
  k_apply, k_box, k_noise = jax.random.split(key, 3)
  box, found = boxes.sample_box(k_box, image.shape[:2], area=area,
                                aspect_ratio=aspect_ratio, integer=True)
  apply = (jax.random.uniform(k_apply) < probability) & found
  if isinstance(value, str):
    value = checks.uniform_flat(k_noise, image.shape, image.dtype)
  return cutout(image, jnp.where(apply, box, jnp.zeros_like(box)),
                value=value)
