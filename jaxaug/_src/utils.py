"""Batching and dtype helpers.

Every jaxaug op works on one image `(H, W, C)`. `batch` lifts such an op to a
batch `(B, H, W, C)` by splitting the key into one key per example and
`vmap`-ing. `to_float`/`from_float` convert between uint8 images in [0, 255]
and the float images in [0, 1] that the ops expect.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxaug._src import checks


def batch(fn: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
  """Lifts a single-image random op `fn(key, image, ...)` to a batch.

  The returned function takes `(key, images, *args, **kwargs)` with `images`
  of shape `(B, H, W, C)`, splits `key` into `B` independent keys (one per
  example, so no two examples share randomness) and maps `fn` over the
  leading axis with `jax.vmap`. Extra positional and keyword arguments are
  passed unchanged to every call (they are not mapped); to vary a magnitude
  per example, `vmap` yourself.

  Args:
    fn: a function `fn(key, image, *args, **kwargs) -> array` for one image.

  Returns:
    A function `(key, images, *args, **kwargs) -> array` with a leading batch
    axis on the output (whatever `fn` returns, stacked `B` times).

  Raises:
    TypeError: (when called) `key` is not a PRNG key.
    ValueError: (when called) `images` does not have rank 4 `(B, H, W, C)`.

  Example:
    >>> import jax, jaxaug
    >>> images = jax.numpy.zeros((4, 8, 8, 3))
    >>> out = jaxaug.batch(jaxaug.random_flip_left_right)(
    ...     jax.random.key(0), images)
    >>> out.shape
    (4, 8, 8, 3)
  """
  if not callable(fn):
    raise TypeError(f"fn must be callable, got {type(fn).__name__}")

  @functools.wraps(fn)
  def batched(key: jax.Array, images: jax.typing.ArrayLike, *args: Any,
              **kwargs: Any) -> jax.Array:
    checks.check_key(key)
    if not hasattr(images, "ndim"):
      images = jnp.asarray(images)
    if images.ndim != 4:
      raise ValueError(
          "images must have rank 4 (B, H, W, C) for a batched op, got shape "
          f"{tuple(images.shape)} (rank {images.ndim}); call the op directly "
          "for a single image")
    keys = jax.random.split(key, images.shape[0])
    return jax.vmap(lambda k, x: fn(k, x, *args, **kwargs))(keys, images)

  return batched


def to_float(images: jax.typing.ArrayLike) -> jax.Array:
  """Converts images to float32 in [0, 1].

  Integer images are taken to be 8-bit with values in [0, 255] and divided
  by 255. Floating images pass through with only a cast to float32 (their
  range is not checked or rescaled, so float images already in [0, 1] stay
  exactly the same).

  Args:
    images: array of any shape, uint8/int in [0, 255] or float.

  Returns:
    float32 array of the same shape.

  Raises:
    TypeError: `images` is boolean or not numeric.

  Example:
    >>> import numpy as np, jaxaug
    >>> jaxaug.to_float(np.array([0, 255], np.uint8)).tolist()
    [0.0, 1.0]
  """
  x = jnp.asarray(images)
  if jnp.issubdtype(x.dtype, jnp.floating):
    return x.astype(jnp.float32)
  if jnp.issubdtype(x.dtype, jnp.integer):
    return x.astype(jnp.float32) / 255.0
  raise TypeError(f"images must be an integer (uint8) or float array, got "
                  f"dtype {x.dtype}")


def from_float(images: jax.typing.ArrayLike, *,
               dtype: Any = jnp.uint8) -> jax.Array:
  """Converts float images in [0, 1] to `dtype` (uint8 in [0, 255] default).

  For an integer `dtype` the values are scaled by 255, rounded to the
  nearest integer (half to even) and clipped to [0, 255], so slightly
  out-of-range floats never wrap around. For a float `dtype` the values are
  clipped to [0, 1] and cast.

  Args:
    images: float array of any shape, nominally in [0, 1].
    dtype: output dtype (default uint8), keyword-only.

  Returns:
    Array of the same shape and dtype `dtype`.

  Raises:
    TypeError: `images` is not floating point or `dtype` is not numeric.

  Example:
    >>> import numpy as np, jaxaug
    >>> jaxaug.from_float(np.array([0.0, 0.5, 1.2])).tolist()
    [0, 128, 255]
  """
  x = jnp.asarray(images)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"images must be a float array with values in [0, 1], got "
                    f"dtype {x.dtype}")
  dt = np.dtype(dtype)
  if np.issubdtype(dt, np.integer):
    hi = min(255, np.iinfo(dt).max)
    return jnp.clip(jnp.round(x * 255.0), 0, hi).astype(dt)
  if np.issubdtype(dt, np.floating):
    return jnp.clip(x, 0.0, 1.0).astype(dt)
  raise TypeError(f"dtype must be an integer or float dtype, got {dtype!r}")
