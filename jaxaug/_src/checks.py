"""Input validation shared by every jaxaug op, and the image contract.

All checks run at trace time on static information (shapes, dtypes) and on
concrete Python/NumPy values. Traced values (inside `jit`/`vmap`/`grad`)
cannot be inspected, so value checks are skipped for them: the ops themselves
must stay NaN-free for any value (clip, safe division).

The image contract (`check_image`, `image_in`, `image_out`) is written once,
here, and every op goes through it:

* an image is a floating-point array with values in [0, 1];
* a concrete image (a NumPy array, or a `jax.Array` outside any
  transformation) with a value outside [0, 1], or a NaN/inf, raises a
  ValueError naming the argument;
* a traced image cannot be checked, so it is clipped to [0, 1] on entry:
  every op treats out-of-range traced values the same way (NaN propagates);
* arithmetic runs in at least float32 (`compute_dtype`), and the result is
  clipped to [0, 1] and cast back to the input dtype (`image_out`).

Convert other ranges first: `jaxaug.to_float` (uint8, or floats in [0, 255]
with `max_value=255`) and `jaxaug.denormalize` (mean/std-normalised images).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxaug._src import deprecation


def concrete_value(x: Any) -> Optional[np.ndarray]:
  """Returns `x` as a NumPy array when it is concrete, else None (tracer)."""
  if isinstance(x, jax.core.Tracer):
    return None
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return None  # Spread over other hosts: not readable here.
  try:
    return np.asarray(x)
  except (jax.errors.TracerArrayConversionError,
          jax.errors.ConcretizationTypeError):  # pragma: no cover
    return None


def clip(x: jax.Array, lo: Any = 0.0, hi: Any = 1.0) -> jax.Array:
  """Clips to [lo, hi] with gradient 1 on the whole closed interval.

  `jnp.clip` splits the gradient at a tie (0.5 at exactly `lo` or `hi`), so
  clipping an image would halve the gradient of every black and white
  pixel; this keeps it 1 there (and 0 outside). NaN passes through.
  """
  return jnp.where(x < lo, lo, jnp.where(x > hi, hi, x)).astype(x.dtype)


def compute_dtype(dtype: Any) -> jnp.dtype:
  """Float dtype used for arithmetic on images of `dtype`: at least float32."""
  return jnp.promote_types(dtype, jnp.float32)


def check_values(image: jax.Array, *, name: str = "image",
                 lo: float = 0.0, hi: float = 1.0,
                 hint: bool = True) -> jax.Array:
  """Applies the value-range rule of the image contract (module docstring).

  Args:
    image: float array.
    name: argument name used in error messages.
    lo, hi: the allowed closed range.
    hint: end the message with how to convert an image's range.

  Returns:
    `image` itself when it is concrete (after checking it), or
    `clip(image, lo, hi)` when it is traced.

  Raises:
    ValueError: a concrete `image` with a value outside [lo, hi] or not
      finite.
  """
  v = concrete_value(image)
  if v is None:
    return clip(image, lo, hi)
  v = np.asarray(v, np.float32)
  finite = bool(np.all(np.isfinite(v)))
  if not finite or v.min() < lo or v.max() > hi:
    got = ("non-finite values" if not finite else
           f"values in [{v.min():.6g}, {v.max():.6g}]")
    message = f"{name} must have values in [{lo:g}, {hi:g}], got {got}"
    if hint:
      message += ("; convert 0-255 images with jaxaug.to_float, "
                  "mean/std-normalised ones with jaxaug.denormalize, or clip "
                  "with jnp.clip (traced images are clipped on entry)")
    raise ValueError(message)
  return image


def check_image(image: Any, *, name: str = "image", ndim: int = 3,
                channels: Optional[Sequence[int]] = None,
                channel_axis: int = -1, values: bool = True) -> jax.Array:
  """Validates an image under the image contract; returns it as a jax array.

  Args:
    image: the array to check.
    name: argument name used in error messages.
    ndim: expected rank (3 for a single `(H, W, C)` image, 4 for a batch).
    channels: allowed channel counts, or None for any.
    channel_axis: which axis holds the channels.
    values: apply the value rule (`check_values`): raise on a concrete value
      outside [0, 1], clip a traced image. False for arrays that are not
      images in [0, 1] (e.g. HSV with a wrapping hue).

  Returns:
    The image as a `jax.Array` (clipped to [0, 1] when traced).

  Raises:
    TypeError: not an array, or not floating point; a non-int
      `channel_axis`.
    ValueError: wrong rank, empty spatial size, wrong channel count, a
      `channel_axis` outside the image's axes, or a concrete value outside
      [0, 1].
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
    c = image.shape[check_channel_axis(channel_axis, image.ndim)]
    if c not in channels:
      raise ValueError(f"{name} must have {' or '.join(map(str, channels))} "
                       f"channels on axis {channel_axis}, got {c} "
                       f"(shape {tuple(image.shape)})")
  image = jnp.asarray(image)
  if values:
    image = check_values(image, name=name)
  return image


def image_in(image: Any, *, name: str = "image",
             channels: Optional[Sequence[int]] = None,
             ndim: int = 3) -> tuple[jax.Array, jnp.dtype]:
  """Entry half of the image contract: validate, range rule, upcast.

  Returns:
    `(x, dtype)`: the image in `compute_dtype(dtype)` with values in [0, 1]
    (checked when concrete, clipped when traced) and its original dtype, for
    `image_out`.
  """
  image = check_image(image, name=name, channels=channels, ndim=ndim)
  return image.astype(compute_dtype(image.dtype)), image.dtype


def image_out(x: jax.Array, dtype: Any) -> jax.Array:
  """Exit half of the image contract: clip to [0, 1], cast to `dtype`."""
  return clip(x).astype(dtype)


def check_probability(p: Any, name: str = "probability") -> None:
  """Raises ValueError if a concrete `p` is outside [0, 1]."""
  v = concrete_value(p)
  if v is None:
    return
  if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(
      v > 1):
    raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")


def _shape(x: Any) -> tuple[int, ...]:
  """Shape of an array, tracer, or nested sequence of numbers."""
  return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def check_real(x: Any, name: str, hint: str = "") -> None:
  """Raises TypeError unless `x` is a real number or array of them (not a
  bool, string or None); traced values of an integer or float dtype pass."""
  dtype = getattr(x, "dtype", None)
  if dtype is None:
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
      return
    if isinstance(x, (list, tuple)):
      try:
        dtype = np.asarray(x).dtype
      except (TypeError, ValueError):
        dtype = None
  if dtype is None or not (jnp.issubdtype(dtype, jnp.integer) or
                           jnp.issubdtype(dtype, jnp.floating)):
    got = (f"an array of dtype {jnp.dtype(dtype).name}"
           if dtype is not None else repr(x))
    raise TypeError(f"{name} must be a real number, got {got}"
                    + (f"; {hint}" if hint else ""))


def check_scalar(x: Any, name: str, hint: str = "") -> None:
  """Raises ValueError if `x` (concrete or traced) is not a scalar."""
  shape = _shape(x)
  if shape != ():
    raise ValueError(f"{name} must be a scalar, got shape {shape}"
                     + (f": {hint}" if hint else ""))


def check_broadcasts(x: Any, name: str, shape: Sequence[int]) -> None:
  """Raises ValueError unless `x` broadcasts to exactly `shape`."""
  xs = _shape(x)
  try:
    ok = np.broadcast_shapes(xs, tuple(shape)) == tuple(shape)
  except ValueError:
    ok = False
  if not ok:
    raise ValueError(f"{name} of shape {xs} does not broadcast to the image "
                     f"shape {tuple(shape)}")


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


def check_finite(x: Any, name: str) -> None:
  """Raises ValueError if a concrete `x` has a NaN or infinite value.

  For parameters with no range of their own (an angle, a shift, a blend
  factor): a NaN or inf would otherwise give an all-NaN or constant image
  silently. Traced values pass unchecked.
  """
  v = concrete_value(x)
  if v is None:
    return
  try:
    finite = np.isfinite(np.asarray(v, np.float64))
  except (TypeError, ValueError):
    return  # not numeric: left to the op's own checks
  if np.all(finite):
    return
  if v.size == 1:
    got = repr(float(np.asarray(v, np.float64).reshape(())))
  elif v.size <= 8:
    got = str(np.asarray(v, np.float64).tolist())
  else:
    got = f"{int(np.sum(~finite))} non-finite values of {v.size}"
  raise ValueError(f"{name} must be finite, got {got}")


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


def uniform_flat(key: jax.Array, shape: Sequence[int], dtype: Any,
                 minval: Any = 0., maxval: Any = 1.) -> jax.Array:
  """`jax.random.uniform(key, shape, dtype, minval, maxval)`, drawn flat.

  The same values (the random bits are counted in row-major order, with
  `jax_threefry_partitionable` on or off): the draw is made as a vector of
  `prod(shape)` numbers with `minval`/`maxval` broadcast and flattened, then
  reshaped. Why: under `vmap` XLA:CPU compiles a multi-dimensional draw
  several times slower than the flat one (a `(4, 10)` draw over 512 keys:
  0.74 s against 0.17 s, jaxlib 0.10), and compile time is most of the time
  to first output of a pipeline.
  """
  shape = tuple(int(d) for d in shape)
  if len(shape) <= 1:
    return jax.random.uniform(key, shape, dtype, minval, maxval)
  n = math.prod(shape)
  low = jnp.broadcast_to(jnp.asarray(minval, dtype), shape).reshape(n)
  high = jnp.broadcast_to(jnp.asarray(maxval, dtype), shape).reshape(n)
  return jax.random.uniform(key, (n,), dtype, low, high).reshape(shape)


def normal_flat(key: jax.Array, shape: Sequence[int], dtype: Any
                ) -> jax.Array:
  """`jax.random.normal(key, shape, dtype)`, drawn flat and reshaped.

  The same values, faster to compile under `vmap` (see `uniform_flat`).
  """
  shape = tuple(int(d) for d in shape)
  if len(shape) <= 1:
    return jax.random.normal(key, shape, dtype)
  return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


def uniform(key: jax.Array, interval: Any, name: str, *, lo: float = -np.inf,
            hi: float = np.inf, shape: Sequence[int] = ()) -> jax.Array:
  """Draws uniformly from a `(low, high)` interval, checked: the one way a
  random op draws its parameter (float32; low/high may be traced)."""
  low, high = check_interval(interval, name, lo, hi)
  return uniform_flat(key, tuple(shape), jnp.float32,
                            jnp.asarray(low, jnp.float32),
                            jnp.asarray(high, jnp.float32))


def check_size(size: Any, name: str = "size") -> tuple[int, int]:
  """Normalises a static output size (int or (h, w)) and checks it.

  Raises:
    TypeError: a number that is not an int (2.5, 2.0, True), alone or in the
      pair: sizes are never rounded silently.
    ValueError: not an int or a pair, or a non-positive size.
  """
  def is_int(s):
    return isinstance(s, (int, np.integer)) and not isinstance(s, bool)

  def not_int(s):
    return isinstance(s, (bool, float, complex, np.bool_, np.floating,
                          np.complexfloating))

  if is_int(size):
    size = (int(size), int(size))
  elif not_int(size):
    raise TypeError(f"{name} must be a static int or a (height, width) pair "
                    f"of ints, got {size!r}")
  try:
    pair = tuple(size)
    if len(pair) != 2:
      raise ValueError(f"length {len(pair)}")
  except (TypeError, ValueError) as e:
    raise ValueError(f"{name} must be an int or an (height, width) pair of "
                     f"static ints, got {size!r}") from e
  if any(not_int(s) for s in pair):
    raise TypeError(f"{name} must be a static int or a (height, width) pair "
                    f"of ints, got {size!r}")
  try:
    h, w = (int(s) for s in pair)
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


def check_channel_axis(channel_axis: Any, ndim: int,
                       name: str = "channel_axis") -> int:
  """Checks a static channel axis of a rank-`ndim` array; returns it >= 0.

  Raises:
    TypeError: not an int (a bool or a float counts as not an int).
    ValueError: outside [-ndim, ndim - 1].
  """
  if isinstance(channel_axis, bool) or not isinstance(channel_axis,
                                                       (int, np.integer)):
    raise TypeError(f"{name} must be a static int, got {channel_axis!r}")
  if not -ndim <= channel_axis < ndim:
    raise ValueError(f"{name} must be in [{-ndim}, {ndim - 1}] for a rank-"
                     f"{ndim} image, got {int(channel_axis)}")
  return int(channel_axis) % ndim


def _static_form(value: Any) -> Any:
  """A hashable, type-tagged form of a static option, or raises TypeError.

  Type-tagged so that `2` and `2.0` (equal and equally hashed) compile
  separately: an op may accept one and reject the other.
  """
  if isinstance(value, (jax.Array, np.ndarray, jax.core.Tracer)):
    raise TypeError("array")
  if isinstance(value, (tuple, list)):
    return (type(value), tuple(_static_form(v) for v in value))
  if isinstance(value, dict):
    raise TypeError("dict")
  hash(value)
  return (type(value), value)


# Distinct static options per op that get a compiled call (see below).
_EAGER_COMPILES_PER_OP = 32


def _compiled_random_call(fn: Callable[..., Any], sig: inspect.Signature,
                          cache: dict[Any, Any], args: tuple[Any, ...],
                          kwargs: dict[str, Any]) -> Any:
  """Runs an eager call `fn(key, image, **options)` as one compiled call.

  Called outside any trace, a random op would otherwise run op by op, each
  JAX primitive compiled on its own (`random_field_warp` of one image: about
  a hundred small compilations, 2.5 s on the benchmark CPU). Here the call
  is jitted with its options as static values, once per distinct options,
  shape and dtype. Returns NotImplemented (the caller then runs `fn`
  eagerly) unless the key and image are concrete arrays and every other
  argument is a hashable non-array (Python numbers, strings, tuples, None,
  callables): a concrete array option keeps its concrete-value checks by
  running eagerly. Option checks run while tracing, on the same static
  values; the image contract's value rule runs after the call (a concrete
  image outside [0, 1] raises, after the op's shape and channel checks, as
  it does eagerly); warnings raised while tracing (deprecated spellings)
  are repeated on every call. An op compiles for at most
  `_EAGER_COMPILES_PER_OP` distinct option sets; calls with further new
  options run eagerly, so a loop whose options change on every call costs
  at most that many compilations.
  """
  try:
    bound = sig.bind(*args, **kwargs)
  except TypeError:
    return NotImplemented
  arguments = dict(bound.arguments)
  key, image = arguments.pop("key", None), arguments.pop("image", None)
  for a in (key, image):
    if (isinstance(a, jax.core.Tracer) or not hasattr(a, "dtype") or
        not hasattr(a, "shape")):
      return NotImplemented
  if (image.ndim != 3 or not jnp.issubdtype(image.dtype, jnp.floating) or
      0 in image.shape):
    return NotImplemented
  kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD,
           inspect.Parameter.KEYWORD_ONLY)
  if any(sig.parameters[name].kind not in kinds for name in arguments):
    return NotImplemented
  try:
    static = tuple((name, _static_form(v)) for name, v in arguments.items())
  except TypeError:
    return NotImplemented
  entry = cache.get(static)
  if entry is None:
    if len(cache) >= _EAGER_COMPILES_PER_OP:
      # Options that change from call to call (e.g. a schedule in an eager
      # loop) would compile on every call: past this many distinct options
      # the op runs eagerly for new ones.
      return NotImplemented
    caught: list[warnings.WarningMessage] = []

    def call(k, x):
      with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn(k, x, **arguments)
      # A retrace (new shape or dtype) records the warnings afresh.
      caught[:] = w
      return out

    entry = (jax.jit(call), caught)
    cache[static] = entry
  jitted, caught = entry
  out = jitted(key, image)
  # The value rule after the call: the op's own checks (shape, channels),
  # raised while tracing, come first, as in an eager call. Inside the trace
  # the image is clipped; a concrete image outside [0, 1] raises here.
  check_values(jnp.asarray(image))
  for w in caught:
    warnings.warn(w.message, w.category,
                  stacklevel=deprecation.user_stacklevel())
  return out


def with_channel_axis(fn: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
  """Lets an `(H, W, C)` op accept `channel_axis=` by moving the axis.

  The wrapped function must take the image as its first positional argument
  after an optional key (it is found by name: `image`) and return an array of
  the same layout. The decorator moves `channel_axis` to the last position,
  calls `fn`, and moves it back. A `channel_axis` that is not an int
  raises TypeError, one outside the image's axes ValueError (naming
  `channel_axis`).
  """
  sig = inspect.signature(fn)
  # Random ops `fn(key, image, ...)` called eagerly run as one compiled call
  # (`_compiled_random_call`).
  names = list(sig.parameters)
  image_index = names.index("image")
  cache: Optional[dict[Any, Any]] = (
      {} if names[:2] == ["key", "image"] else None)

  def run(*args, **kwargs):
    if cache is not None:
      out = _compiled_random_call(fn, sig, cache, args, kwargs)
      if out is not NotImplemented:
        return out
    return fn(*args, **kwargs)

  @functools.wraps(fn)
  def wrapper(*args, channel_axis: int = -1, **kwargs):
    if channel_axis is None:
      return run(*args, **kwargs)
    if isinstance(channel_axis, bool) or not isinstance(channel_axis,
                                                         (int, np.integer)):
      raise TypeError(f"channel_axis must be a static int, got "
                      f"{channel_axis!r}")
    if channel_axis == -1:
      return run(*args, **kwargs)
    args = list(args)
    try:
      bound = sig.bind(*args, **kwargs)
      image = bound.arguments.get("image")
    except TypeError:
      # Arguments outside the signature (an op may accept deprecated
      # keywords it does not list): the image is found by name or position;
      # failing that, Python's own message about the call.
      if set(kwargs) <= set(sig.parameters) or not (
          "image" in kwargs or len(args) > image_index):
        raise
      image = kwargs["image"] if "image" in kwargs else args[image_index]
    image = jnp.asarray(image)
    if image.ndim < 3:
      # Said here, with the shape as given: after the move the op would
      # report a transposed shape.
      raise ValueError(f"image must have rank 3 (channels on axis "
                       f"{channel_axis} and two spatial axes), got shape "
                       f"{tuple(image.shape)} (rank {image.ndim})")
    axis = check_channel_axis(channel_axis, image.ndim)
    if "image" in kwargs:
      kwargs["image"] = jnp.moveaxis(image, axis, -1)
    else:
      args[image_index] = jnp.moveaxis(image, axis, -1)
    out = run(*args, **kwargs)
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
