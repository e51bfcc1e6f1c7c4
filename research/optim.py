"""Optimisers, the learning-rate schedule and its batch-size scaling.

`peak_learning_rate(optim, batch_size)` states the scaling rule that the
config names (`optim.lr_scaling`):

  linear: base_learning_rate * B / 256   (SimCLR, Goyal et al. 2017)
  sqrt:   base_learning_rate * sqrt(B)   (SimCLR's LARS alternative)
  none:   base_learning_rate

Weight decay and the LARS trust ratio apply to weights by role, decided from
the parameter's path (`param_role`), never from its shape:

* `kernel`: a convolution or dense kernel (leaf name `kernel`, as Flax names
  them): decayed, one trust ratio per leaf.
* `stacked_kernel`: the weights of the C heads of
  `research.models.MultiHeadProjection` (`MultiHeadProjection.STACKED_KERNELS`),
  stored as one `(C, ...)` array. AMCL's heads are separate layers
  (Wang et al. 2024, arXiv 2310.05615, fig. 2), so each head slice gets its
  own trust ratio: the update is the one LARS gives C separate layers.
* `other`: biases, BatchNorm scales and offsets (also the stacked head
  biases `(C, width)`): neither decayed nor trust-ratio scaled, the choice of
  SimCLR, BYOL and MoCo v3.

LARS follows You et al. 2017 (arXiv 1708.03888) as `optax.lars` does:
weight decay added to the gradient, d = g + wd w, then the trust ratio
`eta * |w| / |d|` (1 where either norm is 0), the learning rate, then
momentum.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import optax

from research.models import MultiHeadProjection

ROLES = ("kernel", "stacked_kernel", "other")
KERNEL_NAMES = frozenset({"kernel"})
STACKED_KERNEL_NAMES = frozenset(MultiHeadProjection.STACKED_KERNELS)


def peak_learning_rate(optim: ml_collections.ConfigDict,
                       batch_size: int) -> float:
  """The learning rate after warm-up, from `optim.lr_scaling`.

  Example:
    >>> c = ml_collections.ConfigDict(dict(base_learning_rate=0.3,
    ...                                    lr_scaling="linear"))
    >>> peak_learning_rate(c, 512)
    0.6
  """
  base = float(optim.base_learning_rate)
  if optim.lr_scaling == "linear":
    return base * batch_size / 256
  if optim.lr_scaling == "sqrt":
    return base * math.sqrt(batch_size)
  if optim.lr_scaling == "none":
    return base
  raise ValueError(f"config field optim.lr_scaling={optim.lr_scaling!r}; "
                   f"choose linear, sqrt or none")


def learning_rate_schedule(optim: ml_collections.ConfigDict,
                           batch_size: int) -> optax.Schedule:
  """Linear warm-up from 0 to the peak, then cosine decay to 0."""
  peak = peak_learning_rate(optim, batch_size)
  warmup = min(optim.warmup_steps, max(optim.num_steps - 1, 0))
  return optax.warmup_cosine_decay_schedule(
      0.0, peak, warmup_steps=warmup,
      decay_steps=max(optim.num_steps, warmup + 1))


def _key_name(entry) -> str:
  return str(getattr(entry, "key", getattr(entry, "name",
                                           getattr(entry, "idx", entry))))


def param_role(path) -> str:
  """The role of the parameter at a `jax.tree_util` key path.

  Returns:
    "kernel", "stacked_kernel" or "other" (see the module docstring).

  Example:
    >>> param_role((jax.tree_util.DictKey("head"),
    ...             jax.tree_util.DictKey("w1")))
    'stacked_kernel'
  """
  name = _key_name(path[-1]) if path else ""
  if name in KERNEL_NAMES:
    return "kernel"
  if name in STACKED_KERNEL_NAMES:
    return "stacked_kernel"
  return "other"


def param_roles(params: Any) -> Any:
  """The tree of `param_role` strings of a parameter tree."""
  return jax.tree_util.tree_map_with_path(lambda p, _: param_role(p), params)


def decay_mask(params: Any) -> Any:
  """True for weights (kernels and stacked head kernels), False elsewhere."""
  return jax.tree_util.tree_map_with_path(
      lambda p, _: param_role(p) != "other", params)


def _norm(x: jax.Array, stacked: bool) -> jax.Array:
  axes = tuple(range(1, x.ndim)) if stacked else tuple(range(x.ndim))
  x = x.astype(jnp.float32)
  return jnp.sqrt(jnp.sum(x * x, axis=axes, keepdims=True))


def scale_by_layer_trust_ratio(trust_coefficient: float = 1e-3,
                               eps: float = 0.0
                               ) -> optax.GradientTransformation:
  """LARS's trust ratio, per layer: per kernel and per head of stacked ones.

  For a `kernel` leaf the update u becomes `u * eta * |w| / (|u| + eps)` with
  norms over the whole leaf, as `optax.scale_by_trust_ratio`; for a
  `stacked_kernel` leaf `(C, ...)` the norms are taken per head (over every
  axis but the first), so head c is scaled by its own ratio. The ratio is 1
  where either norm is 0. `other` leaves pass through unchanged.

  Args:
    trust_coefficient: eta.
    eps: added to the update norm in the denominator.

  Returns:
    An `optax.GradientTransformation` (needs `params` in `update`).
  """

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError("scale_by_layer_trust_ratio needs params")

    def scale(path, u, w):
      role = param_role(path)
      if role == "other":
        return u
      stacked = role == "stacked_kernel"
      w_norm, u_norm = _norm(w, stacked), _norm(u, stacked)
      ratio = trust_coefficient * w_norm / (u_norm + eps)
      ratio = jnp.where((w_norm == 0) | (u_norm == 0), 1.0, ratio)
      return (u * ratio).astype(u.dtype)

    return jax.tree_util.tree_map_with_path(scale, updates, params), state

  return optax.GradientTransformation(optax.init_empty_state, update_fn)


def lars(learning_rate: optax.ScalarOrSchedule, *, weight_decay: float = 0.0,
         trust_coefficient: float = 1e-3, momentum: float = 0.9,
         eps: float = 0.0) -> optax.GradientTransformation:
  """LARS with weight decay and trust ratios by role (module docstring).

  On a tree without stacked kernels this is `optax.lars(learning_rate,
  weight_decay, weight_decay_mask=decay_mask, trust_coefficient,
  trust_ratio_mask=decay_mask, momentum=momentum)` exactly; stacked head
  kernels get the update of separate per-head layers.

  Example:
    >>> tx = lars(0.1, weight_decay=1e-6)
    >>> params = {"kernel": jnp.ones((2, 2)), "bias": jnp.zeros(2)}
    >>> state = tx.init(params)
    >>> updates, _ = tx.update(params, state, params)
    >>> sorted(updates)
    ['bias', 'kernel']
  """
  return optax.chain(
      optax.add_decayed_weights(weight_decay, mask=decay_mask),
      scale_by_layer_trust_ratio(trust_coefficient, eps),
      optax.scale_by_learning_rate(learning_rate),
      optax.trace(decay=momentum, nesterov=False))


def make_optimizer(optim: ml_collections.ConfigDict, batch_size: int
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimiser of the model and the schedule of its learning rate.

  Parameters under the top-level key `probe` (the online linear probe, trained
  on detached features) get their own Adam at `optim.probe_learning_rate`.
  Weight decay (and LARS's trust ratio) reach kernels only (`param_role`).

  Args:
    optim: the `optim` sub-config.
    batch_size: global batch size (for the learning-rate scaling).

  Returns:
    `(tx, schedule)`.

  Raises:
    ValueError: unknown `optim.optimizer`.
  """
  schedule = learning_rate_schedule(optim, batch_size)
  if optim.optimizer == "lars":
    main = lars(schedule, weight_decay=optim.weight_decay,
                trust_coefficient=optim.lars_trust_coefficient,
                momentum=optim.momentum)
  elif optim.optimizer == "sgd":
    main = optax.chain(
        optax.add_decayed_weights(optim.weight_decay, mask=decay_mask),
        optax.sgd(schedule, momentum=optim.momentum, nesterov=True))
  elif optim.optimizer == "adamw":
    main = optax.adamw(schedule, weight_decay=optim.weight_decay,
                       mask=decay_mask)
  else:
    raise ValueError(f"config field optim.optimizer={optim.optimizer!r}; "
                     f"choose lars, sgd or adamw")

  def labels(params):
    return {k: jax.tree.map(lambda _, k=k: "probe" if k == "probe" else "main",
                            v) for k, v in params.items()}

  tx = optax.multi_transform(
      {"main": main, "probe": optax.adam(optim.probe_learning_rate)}, labels)
  return tx, schedule
