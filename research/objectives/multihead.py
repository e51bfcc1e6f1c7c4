"""Adaptive-temperature multi-head contrastive loss (AMCL-style).

Wang, Koniusz, Gedeon, Zheng, "Adaptive Multi-head Contrastive Learning",
ECCV 2024 (arXiv 2310.05615). The official code is
incomplete; the choices it leaves open are listed in `multihead`.
"""

from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from research.objectives import _common as c

TemperatureFn = Callable[[jax.Array, jax.Array], jax.Array]


def omega(tau: jax.typing.ArrayLike, dim: int) -> jax.Array:
  """The temperature regulariser Omega(tau) = (dim / 2) log(tau) + 1 / tau.

  Example:
    >>> round(float(omega(1.0, 128)), 4)
    1.0
  """
  tau = jnp.asarray(tau)
  return 0.5 * dim * jnp.log(tau) + 1.0 / tau


def multihead(heads1: jax.typing.ArrayLike, heads2: jax.typing.ArrayLike,
              temperature_fn: TemperatureFn, *, beta: float = 0.1,
              axis_name: Optional[str] = None
              ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Multi-head contrastive loss with pair-wise adaptive temperatures.

  For each head c and each anchor z (both views of every example are
  anchors), with z+ its other view:

    l(z) = - s(z, z+) / t+ + s(z, z-) / t- + beta Omega(t+) - beta Omega(t-)

  with s the cosine similarity, Omega(t) = (d/2) log t + 1/t, d the embedding
  width, t+ = T(z, z+) and t- = T(z, z-). The loss is the mean of l over the
  2N anchors, summed over the C heads.

  Choices the paper leaves open (ours):

  * Negatives: in-batch, as NT-Xent: the other 2N - 2 views of the (global)
    batch, self and positive excluded. No memory queue.
  * "max_n s(z, z-_n) / t-": z- is the single hardest negative by cosine
    similarity, n* = argmax_n s(z, z-_n), and t- = T(z, z-_{n*}). Since
    t- > 0 this is the max of s / t- for that t-, and it avoids evaluating
    the temperature network on every pair. The max is a hard max (the
    gradient flows through the selected negative only).
  * The pair fed to T: the raw (un-normalised) head outputs, concatenated as
    `[anchor, other]` (anchor first); the same temperature function is
    shared by all heads. Every pair appears as anchor-other in both orders
    across the batch, so both orders are trained. Gradients flow from the loss
    into T and, through T's inputs, into the heads and encoder (no
    stop-gradient).
  * d in Omega is the head output width D.
  * Reduction: mean over anchors (global batch), sum over heads; beta = 0.1.

  Args:
    heads1: `(C, B, D)` outputs of the C heads for the first view.
    heads2: `(C, B, D)` outputs for the second view; row b pairs with heads1.
    temperature_fn: `T(a, b) -> tau`, broadcasting over leading axes and
      returning values in (0, 2) (e.g. `research.models.TemperatureNet`, or a
      closure over one inside `nnx.grad`).
    beta: regulariser weight.
    axis_name: mapped axis of `shard_map`/`pmap`: heads are the local shard,
      negatives come from the global batch.

  Returns:
    `(loss, metrics)` with `contrastive_acc` (positive more similar than every
    negative, averaged over heads and anchors), `pos_sim`, `neg_sim` (mean
    cosine over all negatives), `hard_neg_sim`, `tau_pos`, `tau_neg` (means).

  Raises:
    ValueError: for shapes other than matching `(C, B, D)` or a global batch
      below 2.

  Example:
    >>> import jax
    >>> from flax import nnx
    >>> from research.models import TemperatureNet
    >>> h1, h2 = jax.random.normal(jax.random.key(0), (2, 3, 8, 16))
    >>> net = TemperatureNet(dim=16, hidden=8, rngs=nnx.Rngs(0))
    >>> loss, m = multihead(h1, h2, net)
    >>> 0.0 < float(m["tau_pos"]) < 2.0
    True
  """
  h1 = c.check_embeddings(heads1, "heads1", ndim=3)
  h2 = c.check_embeddings(heads2, "heads2", ndim=3)
  c.check_same_shape(h1, h2, "heads1", "heads2")
  num_heads, b, d = h1.shape
  n = c.num_shards(axis_name)
  bg = b * n
  if bg < 2:
    raise ValueError(
        f"heads1 and heads2 need a (global) batch of at least 2, got {bg}.")
  rows = jnp.arange(b) + c.shard_index(axis_name) * b
  self_idx = jnp.concatenate([rows, rows + bg])
  pos_idx = jnp.concatenate([rows + bg, rows])
  cols = jnp.arange(2 * bg)[None, :]
  neg_mask = (cols != self_idx[:, None]) & (cols != pos_idx[:, None])

  def one_head(x1, x2):
    q_raw = jnp.concatenate([x1, x2])                               # (2B, D)
    k_raw = jnp.concatenate([c.gather(x1, axis_name),
                             c.gather(x2, axis_name)])              # (2Bg, D)
    q, k = c.l2_normalize(q_raw), c.l2_normalize(k_raw)
    sim = q @ k.T
    s_pos = jnp.take_along_axis(sim, pos_idx[:, None], axis=1)[:, 0]
    neg = jnp.where(neg_mask, sim, -jnp.inf)
    hard = jnp.argmax(jax.lax.stop_gradient(neg), axis=1)
    s_neg = jnp.take_along_axis(sim, hard[:, None], axis=1)[:, 0]
    tau_pos = temperature_fn(q_raw, k_raw[pos_idx])
    tau_neg = temperature_fn(q_raw, k_raw[hard])
    per_anchor = (-s_pos / tau_pos + s_neg / tau_neg
                  + beta * omega(tau_pos, d) - beta * omega(tau_neg, d))
    hit = s_pos > jnp.max(neg, axis=1)
    sg = jax.lax.stop_gradient
    sums = {
        "loss": jnp.sum(per_anchor),
        "contrastive_acc": jnp.sum(hit).astype(jnp.float32),
        "pos_sim": jnp.sum(sg(s_pos)),
        "neg_sim": jnp.sum(jnp.where(neg_mask, sg(sim), 0.0)) / (2 * bg - 2),
        "hard_neg_sim": jnp.sum(sg(s_neg)),
        "tau_pos": jnp.sum(sg(tau_pos)),
        "tau_neg": jnp.sum(sg(tau_neg)),
    }
    return sums

  per_head = [one_head(h1[i], h2[i]) for i in range(num_heads)]
  totals = {key: c.global_sum(sum(ph[key] for ph in per_head), axis_name)
            for key in per_head[0]}
  loss = totals.pop("loss") / (2 * bg)
  metrics = {key: val / (2 * bg * num_heads) for key, val in totals.items()}
  return loss, metrics
