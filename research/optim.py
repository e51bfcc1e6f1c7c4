"""Optimisers, the learning-rate schedule and its batch-size scaling.

`peak_learning_rate(optim, batch_size)` states the scaling rule that the
config names (`optim.lr_scaling`):

  linear: base_learning_rate * B / 256   (SimCLR, Goyal et al. 2017)
  sqrt:   base_learning_rate * sqrt(B)   (SimCLR's LARS alternative)
  none:   base_learning_rate

Weight decay and the LARS trust ratio apply to weights by role, not by shape:
to convolution and dense kernels (leaf name `kernel`) and to the stacked
multi-head projection weights (`w1`, `w2`); never to biases, BatchNorm scales
and offsets (SimCLR's choice, also made by BYOL and MoCo v3).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import ml_collections
import optax

# Leaf names of the parameters that are weights (decayed, LARS-adapted).
WEIGHT_NAMES = frozenset({"kernel", "w1", "w2"})


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


def _leaf_name(path) -> str:
  last = path[-1]
  return str(getattr(last, "key", getattr(last, "name", last)))


def decay_mask(params: Any) -> Any:
  """True for the weights (kernels) of a parameter tree, False elsewhere."""
  return jax.tree_util.tree_map_with_path(
      lambda path, _: _leaf_name(path) in WEIGHT_NAMES, params)


def make_optimizer(optim: ml_collections.ConfigDict, batch_size: int
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimiser of the model and the schedule of its learning rate.

  Parameters under the top-level key `probe` (the online linear probe, trained
  on detached features) get their own Adam at `optim.probe_learning_rate`.

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
    main = optax.lars(schedule, weight_decay=optim.weight_decay,
                      weight_decay_mask=decay_mask,
                      trust_coefficient=optim.lars_trust_coefficient,
                      trust_ratio_mask=decay_mask, momentum=optim.momentum)
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
