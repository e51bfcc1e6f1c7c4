"""Flax NNX encoders and projection heads for the research code.

Every encoder is an `nnx.Module` called as `encoder(x)` on `(B, H, W, 3)` float
images and returning `(B, encoder.num_features)` float32 features. BatchNorm
layers use batch statistics after `model.train()` (the default at creation)
and running averages after `model.eval()`. Under `jax.jit` with the batch
sharded over a device mesh the statistics are those of the global batch;
under `pmap`/`shard_map` pass `bn_axis_name` for synchronised BatchNorm (see
`research.models.layers`).
"""

from __future__ import annotations

from flax import nnx

from research.models.heads import MultiHeadProjection
from research.models.heads import ProjectionHead
from research.models.heads import TemperatureNet
from research.models.layers import count_params
from research.models.resnet import ResNet
from research.models.resnet import ResNet18
from research.models.resnet import ResNet50
from research.models.small_cnn import SmallCNN

ENCODERS = ("small_cnn", "resnet18", "resnet50")


def create_encoder(name: str, *, rngs: nnx.Rngs, **kwargs) -> nnx.Module:
  """Builds an encoder by name.

  Args:
    name: "small_cnn", "resnet18" or "resnet50".
    rngs: `nnx.Rngs` with a `params` stream.
    **kwargs: forwarded to the constructor (e.g. `stem="cifar"`,
      `num_features=64`, `bn_axis_name="batch"`).

  Returns:
    The encoder; its output width is `encoder.num_features`.

  Raises:
    ValueError: for an unknown name.

  Example:
    >>> from flax import nnx
    >>> create_encoder("small_cnn", rngs=nnx.Rngs(0)).num_features
    128
  """
  builders = {"small_cnn": SmallCNN, "resnet18": ResNet18,
              "resnet50": ResNet50}
  if name not in builders:
    raise ValueError(f"name must be one of {ENCODERS}, got {name!r}.")
  return builders[name](rngs=rngs, **kwargs)


__all__ = [
    "ENCODERS",
    "MultiHeadProjection",
    "ProjectionHead",
    "ResNet",
    "ResNet18",
    "ResNet50",
    "SmallCNN",
    "TemperatureNet",
    "count_params",
    "create_encoder",
]
