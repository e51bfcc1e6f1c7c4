"""Batching and dtype helpers.

Every jaxaug op works on one image `(H, W, C)`. `batch` lifts such an op to a
batch `(B, H, W, C)` by splitting the key into one key per example and
`vmap`-ing. `to_float`/`from_float` convert between uint8 (or 0-255 float)
images and the float images in [0, 1] that the ops expect;
`normalize`/`denormalize` between those and mean/std-normalised images.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxaug._src import checks


# Bytes of output views one chunk of `batch`/`two_views` should hold on CPU:
# a few MiB, so that a chunk's views and the pipeline's intermediates stay in
# the CPU caches (measured best at 3-6 MiB on the 2-core benchmark machine,
# with 1 MiB of L2 per core and 32 MiB of L3; research/benchmarks/README.md).
_CHUNK_BYTES = 5 * 2**20
# "auto" chunks only a batch that spans at least this many chunks: a batch
# whose views fit in the caches as a whole runs fastest as one `vmap`.
_MIN_CHUNKS = 4


def auto_chunk_size(images: jax.Array, views: int) -> Optional[int]:
  """Images per chunk for `chunk_size="auto"`, or None for one `vmap`.

  On the CPU backend with a single device: the largest divisor of the batch
  not above `_CHUNK_BYTES / (views * image bytes as float32)`, if the batch
  spans at least `_MIN_CHUNKS` chunks; otherwise None.
  """
  if jax.default_backend() != "cpu" or jax.device_count() != 1:
    return None
  b = images.shape[0]
  if b == 0:
    return None
  view_bytes = 4 * max(1, int(np.prod(images.shape[1:])))
  target = max(1, _CHUNK_BYTES // (views * view_bytes))
  # Every chunk has the same shape, so the pipeline is compiled once.
  chunk = max(d for d in range(1, min(target, b) + 1) if b % d == 0)
  return chunk if b // chunk >= _MIN_CHUNKS else None


def check_chunk_size(chunk_size: Any, batch: int) -> Any:
  """Validates `chunk_size` (a positive int dividing `batch`, None, "auto")."""
  if chunk_size is None or (isinstance(chunk_size, str)
                            and chunk_size == "auto"):
    return chunk_size
  if (isinstance(chunk_size, (bool, np.bool_))
      or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1):
    raise ValueError(f"chunk_size must be a positive int, None or 'auto', "
                     f"got {chunk_size!r}")
  chunk_size = int(chunk_size)
  if batch % chunk_size:
    raise ValueError(f"chunk_size={chunk_size} must divide the batch of "
                     f"{batch} images")
  return chunk_size


def map_views(fn: Callable[[jax.Array, jax.Array], Any], keys: jax.Array,
              images: jax.Array, chunk_size: Any) -> Any:
  """`fn(keys[v, i], images[i])` for every view v and image i, stacked.

  `keys` is `(V, B)` (typed keys) or `(V, B, 2)` (raw uint32 keys),
  `images` `(B, ...)`; every leaf of the result has leading axes
  `(V, B)`. `chunk_size` (checked by `check_chunk_size`): None maps the
  whole batch with one `vmap`; an int maps chunks of that many images with a
  `vmap` each inside a `lax.map`, chunk `j` holding images `j, j + n,
  j + 2 n, ...` for `n = B / chunk_size` chunks (strided: a batch sharded in
  contiguous blocks over D devices stays sharded in every chunk when D
  divides `chunk_size`); "auto" picks one with `auto_chunk_size`. The
  values do not depend on the chunks.
  """
  v, b = keys.shape[:2]
  key_tail = keys.shape[2:]  # (2,) for raw uint32 keys, () for typed keys
  if isinstance(chunk_size, str):
    chunk_size = auto_chunk_size(images, v)
  per_batch = jax.vmap(jax.vmap(fn), (0, None))
  if chunk_size is None or chunk_size >= b:
    return per_batch(keys, images)
  n = b // chunk_size
  # Image i = c * n + j is row c of chunk j.
  chunk_keys = jnp.moveaxis(keys.reshape((v, chunk_size, n) + key_tail), 2, 0)
  chunk_images = jnp.swapaxes(
      images.reshape((chunk_size, n) + images.shape[1:]), 0, 1)
  out = jax.lax.map(lambda kx: per_batch(kx[0], kx[1]),
                    (chunk_keys, chunk_images))  # (n, V, chunk_size, ...)

  def unchunk(x):
    x = jnp.moveaxis(x, 0, 2)  # (V, chunk_size, n, ...)
    return x.reshape((v, b) + x.shape[3:])

  return jax.tree.map(unchunk, out)


def batch(fn: Callable[..., jax.Array], *,
          chunk_size: Any = "auto") -> Callable[..., jax.Array]:
  """Lifts a single-image random op `fn(key, image, ...)` to a batch.

  The returned function takes `(key, images, *args, **kwargs)` with `images`
  of shape `(B, H, W, C)`, splits `key` into `B` independent keys (one per
  example, so no two examples share randomness) and maps `fn` over the
  leading axis with `jax.vmap`. Extra positional and keyword arguments are
  passed unchanged to every call (they are not mapped); to vary a magnitude
  per example, `vmap` yourself.

  Chunks (cache blocking): on a CPU a batch of large images runs faster in
  chunks of a few images, each chunk `vmap`-ed inside a `lax.map`, than as
  one `vmap` over the batch, because a chunk's outputs and intermediates stay
  in the CPU caches (one view of SimCLR's 224x224 pipeline per image: 1.2x
  faster in chunks of 8 images on the 2-core benchmark CPU; `two_views`,
  two views per image in chunks of 4 images: 1.5x;
  research/benchmarks/README.md). The values do not depend on the chunks
  (up to float rounding: XLA may fuse a chunk's computation differently
  from the whole batch's, about 1e-6).

  Args:
    fn: a function `fn(key, image, *args, **kwargs) -> array` for one image.
    chunk_size: images per chunk, a positive int dividing `B`; None for one
      `vmap` over the whole batch; "auto" (default): on the CPU backend with
      a single device, chunks of about 5 MiB of float32 images of the input
      size (the largest divisor of `B` not above
      `5 MiB / (H * W * C * 4 bytes)`), used only when the batch spans at
      least 4 chunks; otherwise (GPU, TPU, several devices, small batches)
      None. Chunk `j` holds images `j, j + B /
      chunk_size, ...`, so a batch sharded in contiguous blocks over D
      devices stays sharded in every chunk when D divides `chunk_size`
      (otherwise the values are the same but XLA gathers the batch).

  Returns:
    A function `(key, images, *args, **kwargs) -> array` with a leading batch
    axis on the output (whatever `fn` returns, stacked `B` times).

  Raises:
    TypeError: (when called) `key` is not a PRNG key.
    ValueError: `chunk_size` is not a positive int, None or "auto"; (when
      called) `images` does not have rank 4 `(B, H, W, C)`, or an int
      `chunk_size` does not divide `B`.

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
  check_chunk_size(chunk_size, 0)

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
    size = check_chunk_size(chunk_size, images.shape[0])
    keys = jax.random.split(key, images.shape[0])[None]
    out = map_views(lambda k, x: fn(k, x, *args, **kwargs), keys, images,
                    size)
    return jax.tree.map(lambda a: a[0], out)

  return batched


def to_float(images: jax.typing.ArrayLike, *,
             max_value: Optional[float] = None) -> jax.Array:
  """Converts images to float32 in [0, 1], the range every op expects.

  Values are divided by `max_value`: by default 255 for integer images
  (8-bit, [0, 255]) and 1 for floating images (which then pass through with
  only a cast to float32, so float images already in [0, 1] stay exactly the
  same). Pass `max_value=255` for float images in [0, 255]. The result is
  not clipped: a value outside [0, max_value] stays outside [0, 1], and the
  ops raise on it (see `docs/api_conventions.md`).

  Args:
    images: array of any shape, uint8/int or float.
    max_value: the value that maps to 1.0 (keyword-only); positive.

  Returns:
    float32 array of the same shape.

  Raises:
    TypeError: `images` is boolean or not numeric.
    ValueError: a non-positive `max_value`.

  Example:
    >>> import numpy as np, jaxaug
    >>> jaxaug.to_float(np.array([0, 255], np.uint8)).tolist()
    [0.0, 1.0]
    >>> jaxaug.to_float(np.array([0., 51.]), max_value=255).tolist()
    [0.0, 0.2]
  """
  x = jnp.asarray(images)
  if max_value is not None:
    checks.check_positive(max_value, "max_value")
  if jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.float32)
    return x if max_value is None else x / jnp.float32(max_value)
  if jnp.issubdtype(x.dtype, jnp.integer):
    return x.astype(jnp.float32) / jnp.float32(
        255.0 if max_value is None else max_value)
  raise TypeError(f"images must be an integer (uint8) or float array, got "
                  f"dtype {x.dtype}")


def _channel_stats(mean: Any, std: Any, images: jax.Array,
                   channel_axis: int) -> tuple[jax.Array, jax.Array]:
  checks.check_positive(std, "std")
  channel_axis = checks.check_channel_axis(channel_axis, images.ndim)
  c = images.shape[channel_axis]
  shape = [1] * images.ndim
  shape[channel_axis] = c
  out = []
  for name, v in (("mean", mean), ("std", std)):
    v = jnp.asarray(v, checks.compute_dtype(images.dtype))
    if v.ndim > 1 or (v.ndim == 1 and v.shape[0] not in (1, c)):
      raise ValueError(f"{name} must be a scalar or one value per channel "
                       f"({c}), got shape {tuple(v.shape)}")
    out.append(v.reshape(shape) if v.ndim == 1 and v.shape[0] == c else v)
  return out[0], out[1]


def normalize(images: jax.typing.ArrayLike, mean: Any, std: Any, *,
              channel_axis: int = -1) -> jax.Array:
  """Standardises images in [0, 1] per channel: `(images - mean) / std`.

  The usual last step before a network (e.g. ImageNet's
  `mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)`); jaxaug's ops
  work on the [0, 1] images before it. `denormalize` is the inverse.

  Args:
    images: float array in [0, 1], any shape with a channel axis.
    mean: scalar or one value per channel.
    std: positive scalar or one value per channel.
    channel_axis: the axis holding the channels (default -1).

  Returns:
    Array of the same shape, dtype at least float32.

  Raises:
    ValueError: `mean`/`std` of the wrong length, non-positive `std`, or
      `channel_axis` outside the axes of `images`.
    TypeError: `channel_axis` not an int.

  Example:
    >>> import jax.numpy as jnp, jaxaug
    >>> jaxaug.normalize(jnp.full((2, 2, 3), 0.5), 0.5, 0.25)[0, 0].tolist()
    [0.0, 0.0, 0.0]
  """
  x = jnp.asarray(images)
  m, s = _channel_stats(mean, std, x, channel_axis)
  return (x.astype(m.dtype) - m) / s


def denormalize(images: jax.typing.ArrayLike, mean: Any, std: Any, *,
                channel_axis: int = -1) -> jax.Array:
  """Maps mean/std-normalised images back to [0, 1]: `images * std + mean`.

  Use it to augment images that were normalised upstream (e.g. a data
  pipeline that yields ImageNet-normalised tensors): `denormalize`, augment,
  then `normalize` again. The result is clipped to [0, 1] so that rounding
  (1.0000001) does not trip the ops' range check.

  Args:
    images: normalised float array, any shape with a channel axis.
    mean: scalar or one value per channel (as given to `normalize`).
    std: positive scalar or one value per channel.
    channel_axis: the axis holding the channels (default -1).

  Returns:
    float array of the same shape in [0, 1] (dtype at least float32).

  Raises:
    ValueError: `mean`/`std` of the wrong length, non-positive `std`, or
      `channel_axis` outside the axes of `images`.
    TypeError: `channel_axis` not an int.

  Example:
    >>> import jax.numpy as jnp, jaxaug
    >>> jaxaug.denormalize(jnp.zeros((2, 2, 3)), 0.5, 0.25)[0, 0].tolist()
    [0.5, 0.5, 0.5]
  """
  x = jnp.asarray(images)
  m, s = _channel_stats(mean, std, x, channel_axis)
  return checks.clip(x.astype(m.dtype) * s + m)


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
