"""Adaptive-temperature multi-head contrastive loss (AMCL), made well-posed.

Wang, Koniusz, Gedeon, Zheng, "Adaptive Multi-head Contrastive Learning",
ECCV 2024 (arXiv 2310.05615); code: github.com/LeiWangR/cl.

What the sources say:

* Paper (SimCLR form, per head c and anchor z with positive z+ and negatives
  z-_n): `-s(z, z+) / t+ + max_n s(z, z-_n) / t-_n + beta Omega(t+)
  - beta Omega(t-)`, with s the cosine similarity,
  `Omega(t) = (d/2) log t + 1/t`, d the embedding width, beta = 0.1 and
  `t` in (1e-5, 2); summed over the C heads.
* Authors' README (the paper's figure 2): C projection heads with the same
  architecture and independent weights, and one *shared* MLP that learns the
  pair-wise, head-wise temperatures.
* Authors' code, later version (`amcl/losses.py`): the temperature of a pair
  is `t = t_min + (t_max - t_min) sigmoid(-phi(z) . phi(z'))` (their Eq. 3,
  `sigma(r) = iota / (1 + exp(r)) + eta`) with phi an MLP d -> hidden -> d on
  l2-normalised head outputs, shared by all heads; the hardest negatives are
  chosen by cosine similarity; Omega's d is the head width. (Its defaults
  also average the top-100 negatives and use beta = 0.01 or 1e-4; an earlier
  version used one MLP per head on the concatenated pair.)

Why the paper's form cannot be used as written: for a positive pair the
terms in t+ are `(beta - s)/t + beta (d/2) log t`, which go to minus
infinity as t -> 0 whenever s > beta (any positive pair worth the name), so
the temperatures run to the 1e-5 clamp and the loss to -1e5 (issue 14's toy
run: 76% of t+ on the floor). For a negative pair `-beta Omega(t-)` has no
minimum at all: t- runs to one clamp or the other. Omega is the negative log
of an inverse-gamma density (shape d/2 - 1, scale 1): a sensible prior on a
temperature, but only with a + sign, and only if the data term keeps the
`1/t` that a squared distance carries.

Our formulation (choices marked with their source):

  l+ = (1 - s+) / t+ + beta Omega(t+)       positive pair
  l- = (1 + s-) / t- + beta Omega(t-)       each selected negative

`(1 - s) / t = |z - z+|^2 / (2 t)` is the Gaussian negative log-likelihood
of the positive's chordal distance at variance t (the likelihood reading of
the paper); the negative's is the distance to the antipode of its partner,
`|z + z-|^2 / (2 t)`. Relative to the paper, the similarities enter with
the same coefficients (-1/t+ and +1/t-), so given the temperatures the heads
and the encoder get exactly the paper's gradient; only the temperatures'
objective changes: `+1/t+`, `+1/t-` and the sign of Omega(t-). Each pair's
loss then has one interior minimum in t,

  t* = 2 (1 -+ s + beta) / (beta d)     (`multihead_optimal_temperature`),

inside [2/d, 2(2 + beta)/(beta d)] (for d = 128, beta = 0.1:
[0.016, 0.33]; d = 64: [0.031, 0.66]), far from both clamps. Hard positives
(small s+) and hard negatives (large s-) get larger temperatures, i.e.
smaller weights: AMCL's motivation (pairs whose similarity cannot be
enforced weigh less).

* Temperature network: one shared phi for all heads (README, later code),
  `t = t_min + (t_max - t_min) sigmoid(-phi(z) . phi(z'))` on unit vectors
  (later code), `research.models.TemperatureNet`; t in (1e-5, 2) (paper).
* Negatives: in-batch, as NT-Xent (the other 2N - 2 views of the global
  batch), the `num_negatives` hardest by cosine similarity, selected without
  gradient (later code); `num_negatives = 1` is the paper's max, the later
  code averages 100. The selected negatives' terms are averaged.
* Reduction: mean over the 2N anchors (both views), sum over heads (paper,
  later code); beta = 0.1 (paper); d = the head output width.
* Gradients reach the temperature network and, through its inputs, the heads
  and the encoder (no stop-gradient; both code versions).
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


def multihead_pair_loss(similarity: jax.typing.ArrayLike,
                        tau: jax.typing.ArrayLike, *, positive: bool,
                        beta: float, dim: int) -> jax.Array:
  """One pair's term: `(1 -+ s) / tau + beta Omega(tau)`.

  Args:
    similarity: cosine similarity s in [-1, 1].
    tau: temperature > 0.
    positive: True for a positive pair (1 - s), False for a negative (1 + s).
    beta: regulariser weight.
    dim: embedding width d.

  Example:
    >>> float(multihead_pair_loss(1.0, 1.0, positive=True, beta=0.0,
    ...                           dim=8))
    0.0
  """
  s = jnp.asarray(similarity)
  distance = 1.0 - s if positive else 1.0 + s
  return distance / tau + beta * omega(tau, dim)


def multihead_optimal_temperature(similarity: jax.typing.ArrayLike, *,
                                  positive: bool, beta: float,
                                  dim: int) -> jax.Array:
  """The minimiser in tau of `multihead_pair_loss`: 2(1 -+ s + beta)/(beta d).

  Example:
    >>> round(float(multihead_optimal_temperature(0.5, positive=True,
    ...                                           beta=0.1, dim=128)), 4)
    0.0938
  """
  s = jnp.asarray(similarity)
  distance = 1.0 - s if positive else 1.0 + s
  return 2.0 * (distance + beta) / (beta * dim)


def _spread(name: str, x: jax.Array, axis_name: Optional[str]):
  """min / median / max of `x` over the global batch (x: this shard's)."""
  x = c.gather_replicated(jnp.ravel(jax.lax.stop_gradient(x)), axis_name)
  return {f"{name}_min": jnp.min(x), f"{name}_median": jnp.median(x),
          f"{name}_max": jnp.max(x)}


def multihead(heads1: jax.typing.ArrayLike, heads2: jax.typing.ArrayLike,
              temperature_fn: TemperatureFn, *, beta: float = 0.1,
              num_negatives: int = 1, axis_name: Optional[str] = None
              ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """AMCL's multi-head loss with pair-wise adaptive temperatures, well-posed.

  Per head and anchor z (both views of every example are anchors), with z+
  its other view, z-_1..z-_k its k most similar negatives and
  t = T(z, z') from `temperature_fn`:

    l(z) = (1 - s+) / t+ + beta Omega(t+)
           + mean_j [ (1 + s-_j) / t-_j + beta Omega(t-_j) ]

  The loss is the mean of l over the 2N anchors, summed over the C heads.
  The module docstring gives the sources and how this differs from the
  paper's printed form (which has no minimum in t).

  Args:
    heads1: `(C, B, D)` outputs of the C heads for the first view.
    heads2: `(C, B, D)` outputs for the second view; row b pairs with heads1.
    temperature_fn: `T(a, b) -> tau`, broadcasting over leading axes, values
      in (0, 2) (e.g. `research.models.TemperatureNet`, shared by the heads).
    beta: regulariser weight (> 0 for a minimum in t).
    num_negatives: k, hardest negatives per anchor, 1 <= k <= 2N - 2.
    axis_name: mapped axis of `shard_map`/`pmap`: heads are the local shard,
      negatives come from the global batch.

  Returns:
    `(loss, metrics)` with `contrastive_acc` (positive more similar than every
    negative), `pos_sim`, `neg_sim` (mean cosine over all negatives),
    `hard_neg_sim` (mean over the selected negatives), `tau_pos`, `tau_neg`
    (means) and `tau_pos_min`, `tau_pos_median`, `tau_pos_max`,
    `tau_neg_min`, `tau_neg_median`, `tau_neg_max` over every head, anchor
    and selected pair of the global batch.

  Raises:
    ValueError: shapes other than matching `(C, B, D)`, a global batch below
      2, or k out of range.

  Example:
    >>> import jax
    >>> from flax import nnx
    >>> from research.models import TemperatureNet
    >>> h1, h2 = jax.random.normal(jax.random.key(0), (2, 3, 8, 16))
    >>> net = TemperatureNet(dim=16, hidden=8, rngs=nnx.Rngs(0))
    >>> loss, m = multihead(h1, h2, net)
    >>> 1e-5 < float(m["tau_pos_min"]) <= float(m["tau_pos_max"]) < 2.0
    True
  """
  h1 = c.check_embeddings(heads1, "heads1", ndim=3)
  h2 = c.check_embeddings(heads2, "heads2", ndim=3)
  c.check_same_shape(h1, h2, "heads1", "heads2")
  num_heads, b, d = h1.shape
  bg = b * c.num_shards(axis_name)
  if bg < 2:
    raise ValueError(
        f"heads1 and heads2 need a (global) batch of at least 2, got {bg}.")
  if not 1 <= num_negatives <= 2 * bg - 2:
    raise ValueError(f"num_negatives must be in [1, 2B - 2] = [1, "
                     f"{2 * bg - 2}] for the global batch B = {bg}, got "
                     f"{num_negatives}.")
  rows = jnp.arange(b) + c.shard_index(axis_name) * b
  self_idx = jnp.concatenate([rows, rows + bg])
  pos_idx = jnp.concatenate([rows + bg, rows])
  cols = jnp.arange(2 * bg)[None, :]
  neg_mask = (cols != self_idx[:, None]) & (cols != pos_idx[:, None])
  sg = jax.lax.stop_gradient

  def one_head(x1, x2):
    q = c.l2_normalize(jnp.concatenate([x1, x2]))                   # (2B, D)
    k = c.l2_normalize(jnp.concatenate([c.gather(x1, axis_name),
                                        c.gather(x2, axis_name)]))  # (2Bg, D)
    sim = q @ k.T
    s_pos = jnp.take_along_axis(sim, pos_idx[:, None], axis=1)[:, 0]
    neg = jnp.where(neg_mask, sim, -jnp.inf)
    hard = jax.lax.top_k(sg(neg), num_negatives)[1]                 # (2B, k)
    s_neg = jnp.take_along_axis(sim, hard, axis=1)
    tau_pos = temperature_fn(q, k[pos_idx])                         # (2B,)
    tau_neg = temperature_fn(q[:, None, :], k[hard])                # (2B, k)
    loss_pos = multihead_pair_loss(s_pos, tau_pos, positive=True, beta=beta,
                                   dim=d)
    loss_neg = multihead_pair_loss(s_neg, tau_neg, positive=False, beta=beta,
                                   dim=d)
    per_anchor = loss_pos + jnp.mean(loss_neg, axis=1)
    sums = {
        "loss": jnp.sum(per_anchor),
        "contrastive_acc": jnp.sum(s_pos > jnp.max(neg, axis=1)
                                   ).astype(jnp.float32),
        "pos_sim": jnp.sum(sg(s_pos)),
        "neg_sim": jnp.sum(jnp.where(neg_mask, sg(sim), 0.0)) / (2 * bg - 2),
        "hard_neg_sim": jnp.sum(jnp.mean(sg(s_neg), axis=1)),
        "tau_pos": jnp.sum(sg(tau_pos)),
        "tau_neg": jnp.sum(jnp.mean(sg(tau_neg), axis=1)),
    }
    return sums, tau_pos, tau_neg

  per_head = [one_head(h1[i], h2[i]) for i in range(num_heads)]
  totals = {key: c.global_sum(sum(ph[0][key] for ph in per_head), axis_name)
            for key in per_head[0][0]}
  loss = totals.pop("loss") / (2 * bg)
  metrics = {key: val / (2 * bg * num_heads) for key, val in totals.items()}
  metrics.update(_spread("tau_pos", jnp.stack([ph[1] for ph in per_head]),
                         axis_name))
  metrics.update(_spread("tau_neg", jnp.stack([ph[2] for ph in per_head]),
                         axis_name))
  return loss, metrics
