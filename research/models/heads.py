"""Projection heads and the AMCL temperature network.

All heads take `(B, in_features)` features (the encoder output) and follow
`model.train()` / `model.eval()` for their BatchNorm layers.
"""

from __future__ import annotations

from typing import Any, Optional

from flax import nnx
import jax
import jax.numpy as jnp

from research.models import layers

_TAU_MIN = 1e-5
_TAU_MAX = 2.0


def _check_features(x: jax.typing.ArrayLike, in_features: int,
                    name: str = "x") -> jax.Array:
  x = jnp.asarray(x)
  if x.ndim != 2 or x.shape[-1] != in_features:
    raise ValueError(
        f"{name} must have shape (B, {in_features}), got {x.shape}.")
  return x


class ProjectionHead(nnx.Module):
  """The SimCLR projection MLP g(h).

  * `num_layers=2` (SimCLR v1): Linear(in, hidden) - ReLU - Linear(hidden, out).
  * `num_layers=3` (SimCLR v2): [Linear(no bias) - BN - ReLU] x 2 -
    Linear(no bias) - BN(no scale), as in the SimCLR v2 code where every
    projection layer carries BatchNorm and the last one has no ReLU.

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> head = ProjectionHead(512, hidden=256, out=64, rngs=nnx.Rngs(0))
    >>> head(jnp.ones((4, 512))).shape
    (4, 64)
  """

  def __init__(self, in_features: int, *, hidden: int = 2048, out: int = 128,
               num_layers: int = 2, bn_axis_name: Optional[str] = None,
               dtype: Optional[Any] = None, rngs: nnx.Rngs):
    """Builds the head.

    Args:
      in_features: encoder feature width.
      hidden: width of the hidden layer(s).
      out: embedding width (the contrastive space).
      num_layers: 2 (v1, no BatchNorm) or 3 (v2, BatchNorm after every Linear).
      bn_axis_name: BatchNorm axis for `pmap`/`shard_map` users (see
        `research.models.layers`).
      dtype: computation dtype.
      rngs: `nnx.Rngs` with a `params` stream.

    Raises:
      ValueError: if `num_layers` is not 2 or 3.
    """
    if num_layers not in (2, 3):
      raise ValueError(f"num_layers must be 2 or 3, got {num_layers}.")
    self.in_features = in_features
    self.out_features = out
    self.num_layers = num_layers
    use_bn = num_layers == 3
    dims = [in_features] + [hidden] * (num_layers - 1) + [out]
    self.linears = nnx.List([
        nnx.Linear(a, b, use_bias=not use_bn, dtype=dtype, rngs=rngs)
        for a, b in zip(dims[:-1], dims[1:])])
    if use_bn:
      norms = [layers.batch_norm(d, axis_name=bn_axis_name, dtype=dtype,
                                 rngs=rngs) for d in dims[1:-1]]
      norms.append(nnx.BatchNorm(
          out, use_running_average=False, momentum=layers.BN_MOMENTUM,
          epsilon=layers.BN_EPSILON, use_scale=False, axis_name=bn_axis_name,
          dtype=dtype, rngs=rngs))
      self.norms = nnx.List(norms)
    else:
      self.norms = nnx.List([])

  def __call__(self, x: jax.typing.ArrayLike) -> jax.Array:
    x = _check_features(x, self.in_features)
    n = len(self.linears)
    for i, lin in enumerate(self.linears):
      x = lin(x)
      if self.norms:
        x = self.norms[i](x)
      if i < n - 1:
        x = nnx.relu(x)
    return x.astype(jnp.float32)


class MultiHeadProjection(nnx.Module):
  """C independent projection heads Linear(d, hidden) - ReLU - Linear(hidden, out).

  The AMCL heads (Wang et al. 2024, arXiv 2310.05615): C copies of the
  SimCLR head with independently learnt weights. They are stored stacked,
  with a leading head axis on every parameter (`w1` `(C, d, hidden)`, `b1`
  `(C, hidden)`, `w2` `(C, hidden, out)`, `b2` `(C, out)`), and evaluated
  with one batched matmul. `STACKED_KERNELS` names the weights:
  `research.optim` decays them and gives each head its own LARS trust ratio,
  as if the heads were separate layers; the biases are not decayed.

  Returns `(num_heads, B, out)` embeddings (not normalised).

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> heads = MultiHeadProjection(32, num_heads=3, hidden=16, out=8,
    ...                             rngs=nnx.Rngs(0))
    >>> heads(jnp.ones((5, 32))).shape
    (3, 5, 8)
  """

  STACKED_KERNELS = ("w1", "w2")

  def __init__(self, in_features: int, *, num_heads: int = 3,
               hidden: int = 512, out: int = 128, rngs: nnx.Rngs):
    """Builds the heads.

    Args:
      in_features: encoder feature width d.
      num_heads: number of heads C.
      hidden: hidden width (512 in AMCL).
      out: embedding width (128 in AMCL).
      rngs: `nnx.Rngs` with a `params` stream.
    """
    if num_heads < 1:
      raise ValueError(f"num_heads must be >= 1, got {num_heads}.")
    self.in_features = in_features
    self.num_heads = num_heads
    self.out_features = out
    # Same initialisation as nnx.Linear (lecun normal kernel, zero bias), per head.
    init = nnx.initializers.lecun_normal()
    k1, k2 = rngs.params(), rngs.params()
    self.w1 = nnx.Param(jax.vmap(lambda k: init(k, (in_features, hidden)))(
        jax.random.split(k1, num_heads)))
    self.b1 = nnx.Param(jnp.zeros((num_heads, hidden)))
    self.w2 = nnx.Param(jax.vmap(lambda k: init(k, (hidden, out)))(
        jax.random.split(k2, num_heads)))
    self.b2 = nnx.Param(jnp.zeros((num_heads, out)))

  def __call__(self, x: jax.typing.ArrayLike) -> jax.Array:
    x = _check_features(x, self.in_features)
    h = jnp.einsum("bd,cdh->cbh", x, self.w1[...]) + self.b1[...][:, None]
    h = nnx.relu(h)
    return jnp.einsum("cbh,cho->cbo", h, self.w2[...]) + self.b2[...][:, None]


class TemperatureNet(nnx.Module):
  """AMCL's shared temperature network: a pair of embeddings -> a temperature.

  `tau(a, b) = 1e-5 + (2 - 1e-5) * sigmoid(-phi(a') . phi(b'))`, with a', b'
  the l2-normalised inputs and phi an MLP dim -> hidden -> dim with a ReLU:
  the paper's `sigma(r) = iota / (1 + exp(r)) + eta` on
  `r = phi(z)^T phi(z')` with iota = 2 - 1e-5, eta = 1e-5, as in the
  authors' later code (Wang et al. 2024, arXiv 2310.05615;
  github.com/LeiWangR/cl, `amcl/losses.py`). One network serves all heads.
  `tau` is symmetric in (a, b) and lies in (1e-5, 2).

  `a` and `b` broadcast against each other over their leading axes, so
  `net(z[:, None], z[None, :])` gives the full pairwise matrix.

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> net = TemperatureNet(dim=8, hidden=16, rngs=nnx.Rngs(0))
    >>> net(jnp.ones((4, 8)), jnp.zeros((4, 8)) + 0.5).shape
    (4,)
  """

  def __init__(self, *, dim: int = 128, hidden: int = 128, rngs: nnx.Rngs):
    """Builds the network.

    Args:
      dim: embedding width of each member of the pair (phi maps dim -> dim).
      hidden: hidden width of phi.
      rngs: `nnx.Rngs` with a `params` stream.
    """
    self.dim = dim
    self.fc1 = nnx.Linear(dim, hidden, rngs=rngs)
    self.fc2 = nnx.Linear(hidden, dim, rngs=rngs)

  def embed(self, z: jax.typing.ArrayLike) -> jax.Array:
    """phi of the l2-normalised `z`: `(..., dim)` -> `(..., dim)` float32."""
    z = jnp.asarray(z, jnp.float32)
    if z.shape[-1] != self.dim:
      raise ValueError(f"inputs must end in dim={self.dim}, got {z.shape}.")
    eps = jnp.finfo(jnp.float32).eps
    z = z * jax.lax.rsqrt(jnp.maximum(jnp.sum(z * z, -1, keepdims=True), eps))
    return self.fc2(nnx.relu(self.fc1(z)))

  def __call__(self, a: jax.typing.ArrayLike,
               b: jax.typing.ArrayLike) -> jax.Array:
    """Returns tau of shape `broadcast(a, b).shape[:-1]`, values in (1e-5, 2)."""
    score = jnp.sum(self.embed(a) * self.embed(b), axis=-1)
    return jax.nn.sigmoid(-score) * (_TAU_MAX - _TAU_MIN) + _TAU_MIN
