"""Softmax cross-entropy for the supervised baseline (hard or soft labels)."""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

from research.objectives import _common as c


def cross_entropy(logits: jax.typing.ArrayLike, labels: jax.typing.ArrayLike,
                  *, label_smoothing: float = 0.0,
                  axis_name: Optional[str] = None
                  ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Mean softmax cross-entropy with optional label smoothing.

  Integer labels `(B,)` are one-hot encoded; soft labels `(B, K)` (rows that
  sum to 1, as mixup/cutmix produce) are used as given. Smoothing replaces the
  target t by `(1 - e) t + e / K` (as `optax.smooth_labels`).

  Args:
    logits: `(B, K)` unnormalised class scores.
    labels: `(B,)` integers in [0, K) or `(B, K)` float targets.
    label_smoothing: e in [0, 1).
    axis_name: mapped axis of `shard_map`/`pmap`: the mean is then over the
      global batch.

  Returns:
    `(loss, metrics)` with `accuracy` (argmax of logits equals argmax of the
    target; for mixed labels this is the dominant class).

  Raises:
    ValueError: for logits not `(B, K)`, labels of another shape, or a
      smoothing outside [0, 1).

  Example:
    >>> import jax.numpy as jnp
    >>> loss, m = cross_entropy(jnp.array([[2.0, 0.0]]), jnp.array([0]))
    >>> round(float(loss), 4), float(m["accuracy"])
    (0.1269, 1.0)
  """
  logits = c.check_embeddings(logits, "logits")
  b, k = logits.shape
  labels = jnp.asarray(labels)
  if labels.shape == (b,):
    if not jnp.issubdtype(labels.dtype, jnp.integer):
      raise ValueError(
          f"labels of shape (B,) must be integers, got dtype {labels.dtype}.")
    target = jax.nn.one_hot(labels, k, dtype=jnp.float32)
  elif labels.shape == (b, k):
    target = labels.astype(jnp.float32)
  else:
    raise ValueError(
        f"labels must have shape (B,) = ({b},) or (B, K) = ({b}, {k}) to match"
        f" logits, got {labels.shape}.")
  smoothing = c.concrete(label_smoothing)
  if smoothing is not None and not 0.0 <= smoothing < 1.0:
    raise ValueError(
        f"label_smoothing must be in [0, 1), got {label_smoothing}.")
  target = (1.0 - label_smoothing) * target + label_smoothing / k
  log_p = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  per_example = -jnp.sum(target * log_p, axis=-1)
  hit = jnp.argmax(logits, -1) == jnp.argmax(target, -1)
  total = b * c.num_shards(axis_name)
  return (c.global_sum(jnp.sum(per_example), axis_name) / total,
          {"accuracy": c.global_sum(jnp.sum(hit), axis_name) / total})
