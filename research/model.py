"""The network of a run: encoder, objective head and online linear probe."""

from __future__ import annotations

from flax import nnx
import ml_collections

from research import models
from research.objectives import registry


class Model(nnx.Module):
  """Encoder + the objective's head + an online linear probe.

  Attributes:
    encoder: `research.models` encoder, `(B, H, W, 3)` -> `(B, D)`.
    head: built by the objective's registry entry (a projection head, the
      multi-head projection with its temperature network, or a classifier).
    probe: `nnx.Linear(D, num_classes)` trained on detached features.

  Example:
    >>> from research.configs import base
    >>> m = Model(base.get_config(), 10, rngs=nnx.Rngs(0))
    >>> type(m.head).__name__
    'ProjectionHead'
  """

  def __init__(self, config: ml_collections.ConfigDict, num_classes: int, *,
               rngs: nnx.Rngs):
    m = config.model
    kwargs = {}
    if m.encoder == "small_cnn":
      kwargs = {"num_features": m.num_features,
                "widths": tuple(m.small_cnn_widths)}
    elif m.encoder.startswith("resnet"):
      kwargs = {"stem": m.stem}
    self.encoder = models.create_encoder(m.encoder, rngs=rngs, **kwargs)
    d = self.encoder.num_features
    objective = registry.get(config.objective.name)
    self.head = objective.make_head(m, config.objective, d, num_classes, rngs)
    self.probe = nnx.Linear(d, num_classes, rngs=rngs)
