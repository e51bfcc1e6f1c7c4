"""Helpers shared by the objectives: validation, normalisation, device axes."""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np


def concrete(x) -> Optional[np.ndarray]:
  """`x` as a NumPy array if its value is known here, else None (traced)."""
  if isinstance(x, jax.core.Tracer) or (
      isinstance(x, jax.Array) and not x.is_fully_addressable):
    return None
  return np.asarray(x)


def check_positive(value, name: str):
  """Raises ValueError if a concrete `value` has an entry <= 0 (or NaN)."""
  v = concrete(value)
  if v is not None and not np.all(v > 0):
    raise ValueError(f"{name} must be > 0, got {value}.")
  return value


def check_embeddings(x, name: str, ndim: int = 2) -> jax.Array:
  """Validates a float embedding array of rank `ndim`."""
  x = jnp.asarray(x)
  if x.ndim != ndim:
    raise ValueError(f"{name} must have rank {ndim}, got shape {x.shape}.")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{name} must be a float array, got dtype {x.dtype}.")
  return x


def check_same_shape(a: jax.Array, b: jax.Array, name_a: str, name_b: str):
  if a.shape != b.shape:
    raise ValueError(
        f"{name_a} and {name_b} must have the same shape (same batch size and"
        f" width), got {a.shape} and {b.shape}.")


def l2_normalize(x: jax.Array) -> jax.Array:
  """x / ||x|| along the last axis, with ||x||^2 clipped at float eps.

  The clipping matches `optax.losses.cosine_similarity` (used by
  `optax.losses.ntxent`), so an all-zero embedding maps to zero, not NaN.
  """
  x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
  eps = jnp.finfo(x.dtype).eps
  sq = jnp.sum(x * x, axis=-1, keepdims=True)
  return x * jax.lax.rsqrt(jnp.maximum(sq, eps))


def num_shards(axis_name: Optional[str]) -> int:
  """Static size of the mapped axis (1 without one)."""
  return 1 if axis_name is None else int(jax.lax.axis_size(axis_name))


def shard_index(axis_name: Optional[str]):
  """Position of this shard along the mapped axis (0 without one)."""
  return 0 if axis_name is None else jax.lax.axis_index(axis_name)


def gather(x: jax.Array, axis_name: Optional[str], axis: int = 0) -> jax.Array:
  """All-gathers `x` along `axis` in shard order (identity without an axis).

  `jax.lax.all_gather` is differentiable (its transpose is a reduce-scatter),
  so the cotangents that other shards send to this shard's embeddings reach
  it: the gradient is that of the loss on the global batch.
  """
  if axis_name is None:
    return x
  return jax.lax.all_gather(x, axis_name, axis=axis, tiled=True)


def gather_replicated(x: jax.Array, axis_name: Optional[str]) -> jax.Array:
  """The shards' `(n, ...)` arrays concatenated in shard order, replicated.

  A `psum` of each shard's block placed at its offset: the result is typed
  as replicated, so `shard_map` accepts it under `out_specs=P()` (an
  all-gather's result is not). For statistics only; not differentiated.
  """
  if axis_name is None:
    return x
  k = num_shards(axis_name)
  blocks = jnp.zeros((k,) + x.shape, x.dtype).at[shard_index(axis_name)].set(x)
  return jax.lax.psum(blocks, axis_name).reshape((k * x.shape[0],)
                                                 + x.shape[1:])


def global_sum(x: jax.Array, axis_name: Optional[str]) -> jax.Array:
  """Sum over the mapped axis (identity without one)."""
  return x if axis_name is None else jax.lax.psum(x, axis_name)


def safe_div(num: jax.Array, den: jax.Array) -> jax.Array:
  """num / den, 0 where den == 0 (NaN-free gradients too)."""
  ok = den != 0
  return jnp.where(ok, num / jnp.where(ok, den, 1), 0.0)
