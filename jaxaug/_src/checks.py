"""Input validation shared by every jaxaug op.

All checks run at trace time on static information (shapes, dtypes) and on
concrete Python/NumPy values. Traced values (inside `jit`/`vmap`) cannot be
inspected, so value checks are skipped for them: the ops themselves must stay
NaN-free for any value (clip, safe division).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np


def concrete_value(x: Any) -> Optional[np.ndarray]:
  """Returns `x` as a NumPy array when it is concrete, else None (tracer)."""
  if isinstance(x, jax.core.Tracer):
    return None
  try:
    return np.asarray(x)
  except (jax.errors.TracerArrayConversionError,
          jax.errors.ConcretizationTypeError):  # pragma: no cover
    return None


def check_image(image: Any, *, name: str = "image", ndim: int = 3,
                channels: Optional[Sequence[int]] = None,
                channel_axis: int = -1) -> jax.Array:
  """Validates an image and returns it as a jax array.

  Args:
    image: the array to check.
    name: argument name used in error messages.
    ndim: expected rank (3 for a single `(H, W, C)` image, 4 for a batch).
    channels: allowed channel counts, or None for any.
    channel_axis: which axis holds the channels.

  Raises:
    TypeError: not an array, or not floating point.
    ValueError: wrong rank, empty spatial size, or wrong channel count.
  """
  if not hasattr(image, "shape") or not hasattr(image, "dtype"):
    try:
      image = jnp.asarray(image)
    except TypeError as e:
      raise TypeError(f"{name} must be an array, got {type(image).__name__}"
                      ) from e
  if image.ndim != ndim:
    layout = "(H, W, C)" if ndim == 3 else "(B, H, W, C)"
    raise ValueError(f"{name} must have rank {ndim} {layout}, got shape "
                     f"{tuple(image.shape)} (rank {image.ndim})")
  if not jnp.issubdtype(image.dtype, jnp.floating):
    raise TypeError(
        f"{name} must be a floating-point array with values in [0, 1], got "
        f"dtype {image.dtype}; convert integer images with jaxaug.to_float")
  if any(d == 0 for d in image.shape):
    raise ValueError(f"{name} must not have a zero-sized axis, got shape "
                     f"{tuple(image.shape)}")
  if channels is not None:
    c = image.shape[channel_axis]
    if c not in channels:
      raise ValueError(f"{name} must have {' or '.join(map(str, channels))} "
                       f"channels on axis {channel_axis}, got {c} "
                       f"(shape {tuple(image.shape)})")
  return jnp.asarray(image)


def check_probability(p: Any, name: str = "probability") -> None:
  """Raises ValueError if a concrete `p` is outside [0, 1]."""
  v = concrete_value(p)
  if v is None:
    return
  if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(
      v > 1):
    raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")


def check_nonnegative(x: Any, name: str) -> None:
  """Raises ValueError if a concrete `x` is negative or not finite."""
  v = concrete_value(x)
  if v is None:
    return
  if not np.all(np.isfinite(v)) or np.any(v < 0):
    raise ValueError(f"{name} must be non-negative and finite, got {x!r}")


def check_positive(x: Any, name: str) -> None:
  """Raises ValueError if a concrete `x` is not strictly positive."""
  v = concrete_value(x)
  if v is None:
    return
  if not np.all(np.isfinite(v)) or np.any(v <= 0):
    raise ValueError(f"{name} must be positive and finite, got {x!r}")


def check_range(x: Any, name: str, lo: float, hi: float) -> None:
  """Raises ValueError if a concrete `x` is outside [lo, hi]."""
  v = concrete_value(x)
  if v is None:
    return
  if not np.all(np.isfinite(v)) or np.any(v < lo) or np.any(v > hi):
    raise ValueError(f"{name} must be in [{lo}, {hi}], got {x!r}")


def check_interval(x: Any, name: str, lo: float = -np.inf,
                   hi: float = np.inf) -> tuple[Any, Any]:
  """Checks a `(low, high)` pair with lo <= low <= high <= hi; returns it."""
  try:
    low, high = x
  except (TypeError, ValueError) as e:
    raise ValueError(f"{name} must be a (low, high) pair, got {x!r}") from e
  check_range(low, f"{name}[0]", lo, hi)
  check_range(high, f"{name}[1]", lo, hi)
  vl, vh = concrete_value(low), concrete_value(high)
  if vl is not None and vh is not None and np.any(vl > vh):
    raise ValueError(f"{name} must satisfy low <= high, got {x!r}")
  return low, high


def check_size(size: Any, name: str = "size") -> tuple[int, int]:
  """Normalises a static output size (int or (h, w)) and checks it."""
  if isinstance(size, (int, np.integer)):
    size = (int(size), int(size))
  try:
    h, w = (int(s) for s in size)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{name} must be an int or an (height, width) pair of "
                     f"static ints, got {size!r}") from e
  if h <= 0 or w <= 0:
    raise ValueError(f"{name} must be positive, got {size!r}")
  return h, w


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> None:
  """Raises ValueError if `value` is not one of `choices`."""
  if value not in choices:
    raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def check_key(key: Any, name: str = "key") -> None:
  """Raises TypeError if `key` is not a PRNG key (typed or raw uint32[2])."""
  if not hasattr(key, "dtype"):
    raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(0)), got "
                    f"{type(key).__name__}")
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    return
  if key.dtype == jnp.uint32 and key.shape[-1:] == (2,):
    return
  raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(0)), got "
                  f"dtype {key.dtype} shape {tuple(key.shape)}")


def with_channel_axis(fn: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
  """Lets an `(H, W, C)` op accept `channel_axis=` by moving the axis.

  The wrapped function must take the image as its first positional argument
  after an optional key (it is found by name: `image`) and return an array of
  the same layout. The decorator moves `channel_axis` to the last position,
  calls `fn`, and moves it back.
  """
  sig = inspect.signature(fn)

  @functools.wraps(fn)
  def wrapper(*args, channel_axis: int = -1, **kwargs):
    if channel_axis in (-1, None):
      return fn(*args, **kwargs)
    bound = sig.bind(*args, **kwargs)
    image = jnp.asarray(bound.arguments["image"])
    axis = channel_axis % image.ndim
    bound.arguments["image"] = jnp.moveaxis(image, axis, -1)
    out = fn(*bound.args, **bound.kwargs)
    return jnp.moveaxis(out, -1, axis)

  params = list(sig.parameters.values())
  extra = inspect.Parameter("channel_axis", inspect.Parameter.KEYWORD_ONLY,
                            default=-1)
  if "channel_axis" not in sig.parameters:
    # Insert before **kwargs if present.
    if params and params[-1].kind == inspect.Parameter.VAR_KEYWORD:
      params.insert(len(params) - 1, extra)
    else:
      params.append(extra)
  wrapper.__signature__ = sig.replace(parameters=params)
  return wrapper
