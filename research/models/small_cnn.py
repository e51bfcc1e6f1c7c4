"""A small convolutional encoder for fast CPU runs on 32x32 images."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from flax import nnx
import jax

from research.models import layers


class SmallCNN(nnx.Module):
  """Conv-BN-ReLU blocks followed by global average pooling.

  Four 3x3 blocks with widths `(32, 64, 128, num_features)` and strides
  `(1, 2, 2, 1)`: on 32x32 inputs the last block works at 8x8. About 0.24M
  parameters with the defaults; a forward pass of 256 images takes well under a
  second on a laptop CPU.

  Call as `encoder(x)` on `(B, H, W, 3)` float images; returns `(B,
  num_features)` float32 features. BatchNorm follows `model.train()` /
  `model.eval()`; see `research.models.layers` for the multi-device contract.

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> net = SmallCNN(num_features=64, rngs=nnx.Rngs(0))
    >>> net(jnp.zeros((2, 32, 32, 3))).shape
    (2, 64)
  """

  def __init__(self, *, num_features: int = 128,
               widths: Sequence[int] = (32, 64, 128),
               bn_axis_name: Optional[str] = None,
               dtype: Optional[Any] = None, rngs: nnx.Rngs):
    """Builds the network.

    Args:
      num_features: width of the last block and of the output features.
      widths: widths of the blocks before the last one (strides 1, 2, 2, ...).
      bn_axis_name: mapped axis over which BatchNorm averages its statistics
        under `pmap`/`shard_map` (None: per-device statistics; not needed under
        `jit` with sharding).
      dtype: computation dtype (e.g. `jnp.bfloat16`); parameters stay float32.
      rngs: `nnx.Rngs` with a `params` stream.
    """
    if num_features < 1:
      raise ValueError(f"num_features must be >= 1, got {num_features}.")
    self.num_features = num_features
    chans = [3, *widths, num_features]
    strides = [1] + [2] * (len(widths) - 1) + [1]
    self.convs = nnx.List([
        layers.conv(cin, cout, 3, stride=s, dtype=dtype, rngs=rngs)
        for cin, cout, s in zip(chans[:-1], chans[1:], strides)])
    self.norms = nnx.List([
        layers.batch_norm(cout, axis_name=bn_axis_name, dtype=dtype, rngs=rngs)
        for cout in chans[1:]])

  def __call__(self, x: jax.typing.ArrayLike) -> jax.Array:
    x = layers.check_images(x)
    for conv, norm in zip(self.convs, self.norms):
      x = nnx.relu(norm(conv(x)))
    return layers.global_avg_pool(x)
