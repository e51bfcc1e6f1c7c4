"""The objective registry: one entry per training objective.

An entry says everything the trainer needs to know about an objective: how
many augmented views of each image a step uses, which head sits on the
encoder, and how the loss is computed from the encoder features. Adding an
objective is one `register(Objective(...))` call plus its loss function;
nothing else in the training code names objectives.

The per-objective optimiser defaults live with the other config defaults in
`research/configs/base.py`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from flax import nnx
import jax
import jax.numpy as jnp
import ml_collections

from research import models
from research.objectives.contrastive import mochi
from research.objectives.contrastive import ntxent
from research.objectives.contrastive import supcon
from research.objectives.multihead import multihead
from research.objectives.supervised import cross_entropy

Metrics = dict[str, jax.Array]
# head_fn(model_config, objective_config, in_features, num_classes, rngs)
HeadFn = Callable[[ml_collections.ConfigDict, ml_collections.ConfigDict, int,
                   int, nnx.Rngs], nnx.Module]
# loss_fn(head, feats, labels, objective_config, key, epoch) -> (loss, metrics)
# feats: (V * B, D) encoder features of the V views, view-major (all first
# views, then all second views); labels: (B,) int32 class labels, or (B, K)
# float soft labels when the batch is mixed (`augment.mixing`); epoch: float
# scalar, the epochs of the training split done before this step.
LossFn = Callable[[nnx.Module, jax.Array, jax.Array,
                   ml_collections.ConfigDict, jax.Array, jax.Array],
                  tuple[jax.Array, Metrics]]


@dataclasses.dataclass(frozen=True)
class Objective:
  """A training objective as the trainer sees it.

  Attributes:
    name: the config name (`objective.name`).
    num_views: augmented views of each image per step (1 or 2).
    make_head: builds the head that sits on the encoder features.
    loss: the loss and its metrics from the encoder features.
    classifier: the head's output on encoder features are class logits
      (then evaluation reports the head's own test accuracy).
    uses_labels: the loss reads class labels (supervised objectives).
    soft_labels: the loss accepts `(B, K)` soft labels, so that batch-level
      mixing (`augment.mixing`: mixup, cutmix, resizemix) can be applied.
    phase_metrics: metrics that exist only in part of training (e.g. MoCHi's
      after its warm-up); the loss returns NaN for them elsewhere and the
      training loop does not log them then.
    reference: the paper the loss follows.
  """

  name: str
  num_views: int
  make_head: HeadFn
  loss: LossFn
  classifier: bool = False
  uses_labels: bool = False
  soft_labels: bool = False
  phase_metrics: tuple[str, ...] = ()
  reference: str = ""


REGISTRY: dict[str, Objective] = {}


def register(objective: Objective) -> Objective:
  """Adds `objective` to the registry (its name must be new)."""
  if objective.name in REGISTRY:
    raise ValueError(f"objective {objective.name!r} is already registered")
  REGISTRY[objective.name] = objective
  return objective


def get(name: str) -> Objective:
  """The registered objective `name`.

  Raises:
    ValueError: unknown name, listing the registered ones.
  """
  if name not in REGISTRY:
    raise ValueError(f"config field objective.name={name!r} is not a "
                     f"registered objective; choose one of {sorted(REGISTRY)}")
  return REGISTRY[name]


def _projection_head(model, _, in_features, __, rngs):
  return models.ProjectionHead(in_features, hidden=model.head_hidden,
                               out=model.head_out,
                               num_layers=model.head_layers, rngs=rngs)


def _two_views(feats: jax.Array, head: nnx.Module):
  z = head(feats)
  half = z.shape[0] // 2
  return z[:half], z[half:]


def _simclr_loss(head, feats, labels, cfg, key, epoch):
  del labels, key, epoch
  z1, z2 = _two_views(feats, head)
  return ntxent(z1, z2, temperature=cfg.temperature)


def _supcon_loss(head, feats, labels, cfg, key, epoch):
  del key, epoch
  z1, z2 = _two_views(feats, head)
  return supcon(jnp.stack([z1, z2], axis=1), labels,
                temperature=cfg.temperature)


def _mochi_loss(head, feats, labels, cfg, key, epoch):
  """MoCHi after `mochi.warmup_epochs` epochs, plain NT-Xent before.

  The two phases are the branches of a `lax.cond`: during the warm-up only
  NT-Xent runs (no hardest-negative search, no mixing, no draws) and the
  MoCHi metric `synthetic_sim` is NaN (not logged).
  """
  del labels
  z1, z2 = _two_views(feats, head)
  m = cfg.mochi

  def mixing():
    return mochi(z1, z2, key, temperature=cfg.temperature,
                 num_hardest=min(m.num_hardest, 2 * z1.shape[0] - 2),
                 num_mix=m.num_mix, num_mix_query=m.num_mix_query)

  def warmup():
    loss, metrics = ntxent(z1, z2, temperature=cfg.temperature)
    return loss, {**metrics, "synthetic_sim": jnp.full((), jnp.nan)}

  if m.warmup_epochs <= 0:
    return mixing()
  return jax.lax.cond(epoch >= m.warmup_epochs, mixing, warmup)


class AdaptiveMultiHead(nnx.Module):
  """The multihead objective's head: C projections and a temperature net."""

  def __init__(self, in_features: int, *, num_heads: int, hidden: int,
               out: int, rngs: nnx.Rngs):
    self.projection = models.MultiHeadProjection(
        in_features, num_heads=num_heads, hidden=hidden, out=out, rngs=rngs)
    self.temperature_net = models.TemperatureNet(dim=out, hidden=out,
                                                 rngs=rngs)

  def __call__(self, feats: jax.Array) -> jax.Array:
    return self.projection(feats)


def _multihead_head(model, cfg, in_features, _, rngs):
  return AdaptiveMultiHead(in_features, num_heads=cfg.multihead.num_heads,
                           hidden=model.head_hidden, out=model.head_out,
                           rngs=rngs)


def _multihead_loss(head, feats, labels, cfg, key, epoch):
  del labels, key, epoch
  z = head(feats)  # (C, 2B, out)
  half = z.shape[1] // 2
  return multihead(z[:, :half], z[:, half:], head.temperature_net,
                   beta=cfg.multihead.beta)


def _classifier_head(_, __, in_features, num_classes, rngs):
  return nnx.Linear(in_features, num_classes, rngs=rngs)


def _cross_entropy_loss(head, feats, labels, cfg, key, epoch):
  del key, epoch
  return cross_entropy(head(feats), labels,
                       label_smoothing=cfg.label_smoothing)


register(Objective("simclr", 2, _projection_head, _simclr_loss,
                   reference="Chen et al. 2020, arXiv 2002.05709"))
register(Objective("mochi", 2, _projection_head, _mochi_loss,
                   phase_metrics=("synthetic_sim",),
                   reference="Kalantidis et al. 2020, arXiv 2010.01028"))
register(Objective("multihead", 2, _multihead_head, _multihead_loss,
                   reference="Wang et al. 2024, arXiv 2310.05615"))
register(Objective("supcon", 2, _projection_head, _supcon_loss,
                   uses_labels=True,
                   reference="Khosla et al. 2020, arXiv 2004.11362"))
register(Objective("cross_entropy", 1, _classifier_head, _cross_entropy_loss,
                   classifier=True, uses_labels=True, soft_labels=True))
