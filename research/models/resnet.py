"""ResNet-18 and ResNet-50 encoders (He et al. 2016, torchvision v1.5 layout).

Stems:
  * `"cifar"`: 3x3 conv, stride 1, no max-pool (for 32x32 inputs; the
    standard CIFAR variant used by SimCLR and solo-learn).
  * `"imagenet"`: 7x7 conv, stride 2, then 3x3 max-pool with stride 2.

Bottleneck blocks put the stride on the 3x3 convolution (v1.5). Padding is
symmetric (k // 2) as in PyTorch, not XLA "SAME" (which pads only the bottom
and right for stride 2). There is no classifier: the encoder returns the
globally pooled features, 512 (ResNet-18) or 2048 (ResNet-50) wide.

Trainable parameter counts (BatchNorm scale and bias included, running
statistics excluded): ResNet-18 11,176,512 (ImageNet stem) / 11,168,832
(CIFAR stem); ResNet-50 23,508,032 / 23,500,352. These equal torchvision's
resnet18/resnet50 minus their `fc` layer.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from flax import nnx
import jax

from research.models import layers

_STEMS = ("cifar", "imagenet")


class BasicBlock(nnx.Module):
  """Two 3x3 convolutions with an identity or 1x1 projection shortcut."""

  expansion = 1

  def __init__(self, in_features: int, features: int, *, stride: int,
               bn_axis_name: Optional[str], zero_init_residual: bool,
               dtype: Optional[Any], rngs: nnx.Rngs):
    out = features * self.expansion
    self.conv1 = layers.conv(in_features, features, 3, stride=stride,
                             dtype=dtype, rngs=rngs)
    self.bn1 = layers.batch_norm(features, axis_name=bn_axis_name, dtype=dtype,
                                 rngs=rngs)
    self.conv2 = layers.conv(features, out, 3, dtype=dtype, rngs=rngs)
    self.bn2 = layers.batch_norm(out, axis_name=bn_axis_name, dtype=dtype,
                                 zero_scale=zero_init_residual, rngs=rngs)
    self.shortcut = _shortcut(in_features, out, stride, bn_axis_name, dtype,
                              rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    y = nnx.relu(self.bn1(self.conv1(x)))
    y = self.bn2(self.conv2(y))
    return nnx.relu(y + (self.shortcut(x) if self.shortcut else x))


class Bottleneck(nnx.Module):
  """1x1 reduce, 3x3 (strided), 1x1 expand (x4), with a projection shortcut."""

  expansion = 4

  def __init__(self, in_features: int, features: int, *, stride: int,
               bn_axis_name: Optional[str], zero_init_residual: bool,
               dtype: Optional[Any], rngs: nnx.Rngs):
    out = features * self.expansion
    self.conv1 = layers.conv(in_features, features, 1, dtype=dtype, rngs=rngs)
    self.bn1 = layers.batch_norm(features, axis_name=bn_axis_name, dtype=dtype,
                                 rngs=rngs)
    self.conv2 = layers.conv(features, features, 3, stride=stride, dtype=dtype,
                             rngs=rngs)
    self.bn2 = layers.batch_norm(features, axis_name=bn_axis_name, dtype=dtype,
                                 rngs=rngs)
    self.conv3 = layers.conv(features, out, 1, dtype=dtype, rngs=rngs)
    self.bn3 = layers.batch_norm(out, axis_name=bn_axis_name, dtype=dtype,
                                 zero_scale=zero_init_residual, rngs=rngs)
    self.shortcut = _shortcut(in_features, out, stride, bn_axis_name, dtype,
                              rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    y = nnx.relu(self.bn1(self.conv1(x)))
    y = nnx.relu(self.bn2(self.conv2(y)))
    y = self.bn3(self.conv3(y))
    return nnx.relu(y + (self.shortcut(x) if self.shortcut else x))


def _shortcut(in_features, out, stride, bn_axis_name, dtype, rngs):
  if stride == 1 and in_features == out:
    return None
  return nnx.Sequential(
      layers.conv(in_features, out, 1, stride=stride, dtype=dtype, rngs=rngs),
      layers.batch_norm(out, axis_name=bn_axis_name, dtype=dtype, rngs=rngs))


class ResNet(nnx.Module):
  """A ResNet encoder without classifier: `(B, H, W, 3) -> (B, num_features)`.

  Use the `ResNet18` / `ResNet50` constructors. BatchNorm follows
  `model.train()` / `model.eval()`; see `research.models.layers` for how it
  behaves across devices (global statistics under `jit` with a sharded batch,
  `bn_axis_name` for `pmap`/`shard_map`).
  """

  def __init__(self, block: type, stage_sizes: Sequence[int], *,
               stem: str = "imagenet", width: int = 64,
               bn_axis_name: Optional[str] = None,
               zero_init_residual: bool = False,
               dtype: Optional[Any] = None, rngs: nnx.Rngs):
    """Builds the network.

    Args:
      block: `BasicBlock` or `Bottleneck`.
      stage_sizes: blocks per stage, e.g. (2, 2, 2, 2).
      stem: "cifar" (3x3 stride 1, no max-pool) or "imagenet" (7x7 stride 2 +
        3x3 max-pool stride 2).
      width: channels of the stem and the first stage.
      bn_axis_name: mapped axis for synchronised BatchNorm under
        `pmap`/`shard_map` (not needed under `jit` with sharding).
      zero_init_residual: start the last BatchNorm scale of each block at 0
        (Goyal et al. 2017), so each block starts as the identity.
      dtype: computation dtype (e.g. `jnp.bfloat16`); parameters stay float32.
      rngs: `nnx.Rngs` with a `params` stream.

    Raises:
      ValueError: for an unknown `stem`.
    """
    if stem not in _STEMS:
      raise ValueError(f"stem must be one of {_STEMS}, got {stem!r}.")
    self.stem = stem
    kernel, stride = (3, 1) if stem == "cifar" else (7, 2)
    self.conv1 = layers.conv(3, width, kernel, stride=stride, dtype=dtype,
                             rngs=rngs)
    self.bn1 = layers.batch_norm(width, axis_name=bn_axis_name, dtype=dtype,
                                 rngs=rngs)
    blocks = []
    in_features = width
    for i, size in enumerate(stage_sizes):
      features = width * 2**i
      for j in range(size):
        blocks.append(block(
            in_features, features, stride=2 if (i > 0 and j == 0) else 1,
            bn_axis_name=bn_axis_name, zero_init_residual=zero_init_residual,
            dtype=dtype, rngs=rngs))
        in_features = features * block.expansion
    self.blocks = nnx.List(blocks)
    self.num_features = in_features

  def __call__(self, x: jax.typing.ArrayLike) -> jax.Array:
    x = layers.check_images(x)
    x = nnx.relu(self.bn1(self.conv1(x)))
    if self.stem == "imagenet":
      x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for blk in self.blocks:
      x = blk(x)
    return layers.global_avg_pool(x)


def ResNet18(*, stem: str = "cifar", rngs: nnx.Rngs, **kwargs) -> ResNet:  # pylint: disable=invalid-name
  """ResNet-18 encoder, 512 output features.

  Args:
    stem: "cifar" or "imagenet".
    rngs: `nnx.Rngs` with a `params` stream.
    **kwargs: `bn_axis_name`, `zero_init_residual`, `dtype`, `width`.

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> net = ResNet18(stem="cifar", rngs=nnx.Rngs(0))
    >>> net(jnp.zeros((2, 32, 32, 3))).shape
    (2, 512)
  """
  return ResNet(BasicBlock, (2, 2, 2, 2), stem=stem, rngs=rngs, **kwargs)


def ResNet50(*, stem: str = "imagenet", rngs: nnx.Rngs, **kwargs) -> ResNet:  # pylint: disable=invalid-name
  """ResNet-50 encoder, 2048 output features.

  Args:
    stem: "cifar" or "imagenet".
    rngs: `nnx.Rngs` with a `params` stream.
    **kwargs: `bn_axis_name`, `zero_init_residual`, `dtype`, `width`.

  Example:
    >>> from flax import nnx
    >>> net = ResNet50(stem="imagenet", rngs=nnx.Rngs(0))
    >>> net.num_features
    2048
  """
  return ResNet(Bottleneck, (3, 4, 6, 3), stem=stem, rngs=rngs, **kwargs)
