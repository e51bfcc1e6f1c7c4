"""Shared building blocks for the research encoders.

Layout and BatchNorm contract (all encoders in `research.models`):

* Inputs are channels-last float images `(B, H, W, 3)`; values are whatever the
  data pipeline produces (typically [0, 1] or standardised).
* BatchNorm runs in batch-statistics mode after `model.train()` (running
  averages are updated in place, as `nnx.BatchStat` variables) and in
  running-average mode after `model.eval()` (nothing is updated). Modules are
  created in training mode.
* Across devices: under `jax.jit` with the batch sharded over a mesh
  (`NamedSharding`), the program is written for the *global* batch, so the
  BatchNorm mean/variance are global batch statistics; XLA inserts the
  cross-device reductions. Nothing needs to be configured. Under `jax.pmap` or
  `jax.shard_map` the function sees only its local shard: pass
  `bn_axis_name=<axis>` to the encoder to average the statistics over that
  axis (synchronised BatchNorm); leave it None for per-device statistics
  (SimCLR's per-replica BN behaviour).
"""

from __future__ import annotations

from typing import Any, Optional

from flax import nnx
import jax
import jax.numpy as jnp

# He-normal with fan_out, as torchvision ResNets initialise their convolutions.
conv_init = nnx.initializers.variance_scaling(2.0, "fan_out", "normal")

# Flax momentum 0.9 is PyTorch's momentum 0.1.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def conv(in_features: int, out_features: int, kernel: int, *, stride: int = 1,
         dtype: Optional[Any] = None, rngs: nnx.Rngs) -> nnx.Conv:
  """A bias-free convolution with symmetric (PyTorch-style) padding k // 2."""
  pad = kernel // 2
  return nnx.Conv(in_features, out_features, (kernel, kernel),
                  strides=(stride, stride), padding=((pad, pad), (pad, pad)),
                  use_bias=False, kernel_init=conv_init, dtype=dtype, rngs=rngs)


def batch_norm(num_features: int, *, axis_name: Optional[str] = None,
               zero_scale: bool = False, dtype: Optional[Any] = None,
               rngs: nnx.Rngs) -> nnx.BatchNorm:
  """BatchNorm in training mode with the ResNet momentum and epsilon."""
  return nnx.BatchNorm(
      num_features, use_running_average=False, momentum=BN_MOMENTUM,
      epsilon=BN_EPSILON, axis_name=axis_name, dtype=dtype,
      scale_init=(nnx.initializers.zeros_init() if zero_scale
                  else nnx.initializers.ones_init()),
      rngs=rngs)


def global_avg_pool(x: jax.Array) -> jax.Array:
  """(B, H, W, C) -> (B, C), accumulated in float32."""
  return jnp.mean(x.astype(jnp.float32), axis=(1, 2))


def check_images(x: jax.typing.ArrayLike, name: str = "x") -> jax.Array:
  """Validates a channels-last image batch and returns it as an array."""
  x = jnp.asarray(x)
  if x.ndim != 4 or x.shape[-1] != 3:
    raise ValueError(
        f"{name} must be a batch of RGB images of shape (B, H, W, 3), got shape"
        f" {x.shape}.")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{name} must be a float array, got dtype {x.dtype}.")
  return x


def count_params(module: nnx.Module) -> int:
  """Number of trainable parameters (`nnx.Param`), BatchNorm stats excluded.

  Example:
    >>> from flax import nnx
    >>> count_params(nnx.Linear(3, 2, rngs=nnx.Rngs(0)))
    8
  """
  state = nnx.state(module, nnx.Param)
  return int(sum(x.size for x in jax.tree.leaves(state)))
