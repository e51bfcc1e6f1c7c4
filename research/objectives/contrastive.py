"""Contrastive objectives: NT-Xent (SimCLR), SupCon and in-batch MoCHi.

Every objective is a pure function of embeddings returning `(loss, metrics)`.
With `axis_name` (inside `jax.shard_map` or `jax.pmap`) each shard passes its
slice of the batch; the embeddings are all-gathered so that the negatives are
those of the global batch, and loss and metrics are the single-device values
on the concatenated batch, on every shard. The all-gather is differentiable,
so `jax.grad` of the loss is also the single-device gradient (tested).

`pmap` users who take gradients *inside* `pmap` must average the parameter
gradients with `jax.lax.pmean` afterwards (the usual recipe): inside `pmap`
the transpose of `psum` is a `psum`, so each device's gradient is
`num_devices` times its share, and the pmean makes the result exactly the
global-batch gradient (tested). Under `jit` with a sharded batch no
`axis_name` is needed at all: jit sees the global batch.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

from research.objectives import _common as c

Metrics = dict[str, jax.Array]

_NEG_INF = -jnp.inf


class _Pairs:
  """Local anchors (both views) against the global candidates."""

  def __init__(self, z1, z2, axis_name):
    z1 = c.check_embeddings(z1, "z1")
    z2 = c.check_embeddings(z2, "z2")
    c.check_same_shape(z1, z2, "z1", "z2")
    n = c.num_shards(axis_name)
    b = z1.shape[0]
    if b * n < 2:
      raise ValueError(
          f"z1 and z2 need a (global) batch of at least 2 pairs, got {b * n}.")
    z1, z2 = c.l2_normalize(z1), c.l2_normalize(z2)
    self.b, self.bg = b, b * n
    self.q = jnp.concatenate([z1, z2])                       # (2B, D)
    self.keys = jnp.concatenate([c.gather(z1, axis_name),
                                 c.gather(z2, axis_name)])   # (2Bg, D)
    rows = jnp.arange(b) + c.shard_index(axis_name) * b
    self.self_idx = jnp.concatenate([rows, rows + self.bg])
    self.pos_idx = jnp.concatenate([rows + self.bg, rows])
    self.sim = self.q @ self.keys.T                          # (2B, 2Bg)
    cols = jnp.arange(2 * self.bg)[None, :]
    self.self_mask = cols == self.self_idx[:, None]
    self.pos_mask = cols == self.pos_idx[:, None]
    self.neg_mask = ~(self.self_mask | self.pos_mask)


def _retrieval_metrics(sim, self_mask, pos_mask, neg_mask, axis_name,
                       valid=None) -> Metrics:
  """Top-1 retrieval accuracy and mean positive/negative cosine similarity.

  An anchor counts as correct when its most similar non-self candidate is a
  positive. Means are over the global batch.
  """
  if valid is None:
    valid = jnp.ones(sim.shape[0], bool)
  nearest = jnp.argmax(jnp.where(self_mask, _NEG_INF, sim), axis=1)
  hit = jnp.take_along_axis(pos_mask, nearest[:, None], axis=1)[:, 0]
  gs = lambda x: c.global_sum(x, axis_name)
  sg = jax.lax.stop_gradient
  return {
      "contrastive_acc": c.safe_div(gs(jnp.sum(hit & valid)).astype(jnp.float32),
                                    gs(jnp.sum(valid)).astype(jnp.float32)),
      "pos_sim": c.safe_div(gs(jnp.sum(jnp.where(pos_mask, sg(sim), 0.0))),
                            gs(jnp.sum(pos_mask)).astype(jnp.float32)),
      "neg_sim": c.safe_div(gs(jnp.sum(jnp.where(neg_mask, sg(sim), 0.0))),
                            gs(jnp.sum(neg_mask)).astype(jnp.float32)),
  }


def _masked_lse(logits, mask_out):
  return jax.nn.logsumexp(jnp.where(mask_out, _NEG_INF, logits), axis=1)


def ntxent(z1: jax.typing.ArrayLike, z2: jax.typing.ArrayLike, *,
           temperature: jax.typing.ArrayLike = 0.1,
           axis_name: Optional[str] = None) -> tuple[jax.Array, Metrics]:
  """NT-Xent, the SimCLR loss (Chen et al. 2020), on two views.

  The 2N views `[z1; z2]` are l2-normalised; for every anchor the positive is
  the other view of the same example, the negatives are the other 2N - 2
  views, and the self-similarity is masked:

    loss = mean_i [ -s(i, pos(i)) / t + log sum_{k != i} exp(s(i, k) / t) ]

  over all 2N anchors. Equal to `optax.losses.ntxent(concat([z1, z2]),
  concat([arange(N), arange(N)]), temperature)`.

  Args:
    z1: `(B, D)` embeddings of the first view (any scale; normalised here).
    z2: `(B, D)` embeddings of the second view, row i pairs with `z1[i]`.
    temperature: t > 0 (scalar).
    axis_name: mapped axis of `shard_map`/`pmap`; then `z1`, `z2` are this
      shard's slice and N is the global batch size.

  Returns:
    `(loss, metrics)`: scalar float32 loss (global mean) and the metrics
    `contrastive_acc` (top-1 retrieval of the positive among the 2N - 1
    others), `pos_sim`, `neg_sim` (mean cosine similarities).

  Raises:
    ValueError: if the shapes differ, the global batch is < 2, or a concrete
      temperature is <= 0.

  Example:
    >>> import jax
    >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 8, 16))
    >>> loss, metrics = ntxent(z1, z2, temperature=0.1)
    >>> loss.shape, sorted(metrics)
    ((), ['contrastive_acc', 'neg_sim', 'pos_sim'])
  """
  c.check_positive(temperature, "temperature")
  p = _Pairs(z1, z2, axis_name)
  logits = p.sim / temperature
  pos = jnp.take_along_axis(logits, p.pos_idx[:, None], axis=1)[:, 0]
  per_anchor = _masked_lse(logits, p.self_mask) - pos
  loss = c.global_sum(jnp.sum(per_anchor), axis_name) / (2 * p.bg)
  return loss, _retrieval_metrics(p.sim, p.self_mask, p.pos_mask, p.neg_mask,
                                  axis_name)


def supcon(features: jax.typing.ArrayLike,
           labels: Optional[jax.typing.ArrayLike] = None, *,
           temperature: jax.typing.ArrayLike = 0.07,
           axis_name: Optional[str] = None) -> tuple[jax.Array, Metrics]:
  """Supervised contrastive loss, L_out form (Khosla et al. 2020, eq. 2).

  All B*V views are anchors. For anchor i, A(i) is every other view and P(i)
  the views in A(i) with the same label:

    loss_i = -1/|P(i)| sum_{p in P(i)} log( exp(s_ip / t) /
                                            sum_{a in A(i)} exp(s_ia / t) )

  averaged over the anchors. Choices: no `temperature / base_temperature`
  rescaling (the reference code multiplies by it; it is 1 at the default
  t = 0.07); anchors without any positive (possible only for V = 1) are left
  out of the mean instead of producing NaN. With `labels=None` every example
  is its own class, and for V = 2 the loss equals `ntxent` exactly.

  Args:
    features: `(B, V, D)` embeddings, V views per example (normalised here).
    labels: `(B,)` integer class labels, or None (SimCLR positives only).
    temperature: t > 0.
    axis_name: mapped axis of `shard_map`/`pmap` (features and labels are the
      local shard; the global batch supplies the candidates).

  Returns:
    `(loss, metrics)` with `contrastive_acc` (nearest other view has the same
    label), `pos_sim`, `neg_sim` (mean cosine similarity over same-label /
    different-label pairs).

  Raises:
    ValueError: for features not of rank 3, labels not of shape `(B,)` or not
      integers, fewer than 2 views in the global batch, temperature <= 0.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> f = jax.random.normal(jax.random.key(0), (6, 2, 16))
    >>> loss, _ = supcon(f, jnp.array([0, 1, 0, 1, 2, 2]))
    >>> loss.shape
    ()
  """
  c.check_positive(temperature, "temperature")
  features = c.check_embeddings(features, "features", ndim=3)
  b, v, d = features.shape
  n = c.num_shards(axis_name)
  if b * v * n < 2:
    raise ValueError(
        f"features needs at least 2 views in the (global) batch, got shape"
        f" {features.shape} on {n} shard(s).")
  off = c.shard_index(axis_name) * b
  if labels is None:
    labels = jnp.arange(b) + off
  else:
    labels = jnp.asarray(labels)
    if labels.shape != (b,):
      raise ValueError(
          f"labels must have shape (B,) = ({b},) to match features, got"
          f" {labels.shape}.")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
      raise ValueError(f"labels must be integers, got dtype {labels.dtype}.")
  bg = b * n
  f = c.l2_normalize(features)
  q = jnp.swapaxes(f, 0, 1).reshape(v * b, d)                 # view-major
  keys = jnp.swapaxes(c.gather(f, axis_name), 0, 1).reshape(v * bg, d)
  key_labels = jnp.tile(c.gather(labels, axis_name), v)
  q_labels = jnp.tile(labels, v)
  self_idx = (jnp.arange(b)[None, :] + off
              + bg * jnp.arange(v)[:, None]).reshape(-1)
  sim = q @ keys.T                                            # (VB, VBg)
  cols = jnp.arange(v * bg)[None, :]
  self_mask = cols == self_idx[:, None]
  same = q_labels[:, None] == key_labels[None, :]
  pos_mask = same & ~self_mask
  neg_mask = ~same
  logits = sim / temperature
  log_prob = logits - _masked_lse(logits, self_mask)[:, None]
  num_pos = jnp.sum(pos_mask, axis=1)
  valid = num_pos > 0
  mean_log_prob_pos = c.safe_div(
      jnp.sum(jnp.where(pos_mask, log_prob, 0.0), axis=1),
      num_pos.astype(log_prob.dtype))
  loss = c.safe_div(
      c.global_sum(-jnp.sum(jnp.where(valid, mean_log_prob_pos, 0.0)),
                   axis_name),
      c.global_sum(jnp.sum(valid), axis_name).astype(log_prob.dtype))
  return loss, _retrieval_metrics(sim, self_mask, pos_mask, neg_mask,
                                  axis_name, valid=valid)


def _hardest(p: _Pairs, num_hardest: int) -> jax.Array:
  """Indices into the global candidates of each anchor's hardest negatives."""
  masked = jnp.where(p.neg_mask, p.sim, _NEG_INF)
  return jax.lax.top_k(jax.lax.stop_gradient(masked), num_hardest)[1]


def _mochi_sizes(bg, num_hardest, num_mix, num_mix_query):
  max_neg = 2 * bg - 2
  if num_hardest is None:
    num_hardest = min(256, max_neg)
  if not 1 <= num_hardest <= max_neg:
    raise ValueError(
        f"num_hardest must be in [1, 2B - 2] = [1, {max_neg}] for the global"
        f" batch B = {bg}, got {num_hardest}.")
  num_mix = 2 * num_hardest if num_mix is None else num_mix
  num_mix_query = num_hardest if num_mix_query is None else num_mix_query
  if num_mix < 0 or num_mix_query < 0:
    raise ValueError(
        f"num_mix and num_mix_query must be >= 0, got {num_mix} and"
        f" {num_mix_query}.")
  return num_hardest, num_mix, num_mix_query


def _synthesise(p: _Pairs, key, hard_idx, num_mix, num_mix_query,
                axis_name) -> jax.Array:
  """(2B, num_mix + num_mix_query, D) synthetic negatives, detached.

  Random draws are made for every anchor of the *global* batch from the same
  key and this shard's rows are sliced out, so sharded and single-device runs
  draw identical negatives.
  """
  n_hard = hard_idx.shape[1]
  bg, b = p.bg, p.b
  # One uniform draw for everything (indices by flooring): threefry is slow to
  # compile on CPU, and four separate randint/uniform calls cost seconds.
  u = jax.random.uniform(key, (2, bg, 3 * num_mix + 2 * num_mix_query))
  to_idx = lambda v: jnp.minimum((v * n_hard).astype(jnp.int32), n_hard - 1)
  s1, s2 = 3 * num_mix, 3 * num_mix + num_mix_query
  pair = to_idx(u[..., :2 * num_mix]).reshape(2, bg, num_mix, 2)
  alpha = u[..., 2 * num_mix:s1, None]
  pick = to_idx(u[..., s1:s2])
  beta = 0.5 * u[..., s2:, None]

  def local(x):  # rows of this shard's anchors, both views: (2B, ...)
    start = (0, c.shard_index(axis_name) * b) + (0,) * (x.ndim - 2)
    x = jax.lax.dynamic_slice(x, start, (2, b) + x.shape[2:])
    return x.reshape((2 * b,) + x.shape[2:])

  pair, alpha, pick, beta = local(pair), local(alpha), local(pick), local(beta)
  keys = jax.lax.stop_gradient(p.keys)
  q = jax.lax.stop_gradient(p.q)
  hard = keys[hard_idx]                                        # (2B, N, D)
  take = lambda idx: jnp.take_along_axis(hard, idx[..., None], axis=1)
  h1 = alpha * take(pair[..., 0]) + (1 - alpha) * take(pair[..., 1])
  h2 = beta * q[:, None, :] + (1 - beta) * take(pick)
  return jax.lax.stop_gradient(
      c.l2_normalize(jnp.concatenate([h1, h2], axis=1)))


def mochi_hardest_negatives(z1: jax.typing.ArrayLike,
                            z2: jax.typing.ArrayLike, *,
                            num_hardest: int) -> jax.Array:
  """Indices of each anchor's hardest in-batch negatives (single device).

  Anchors and candidates are the 2B views `[z1; z2]`; the negatives of anchor
  i exclude i and its other view. Sorted by decreasing cosine similarity.

  Args:
    z1: `(B, D)` first views.
    z2: `(B, D)` second views.
    num_hardest: N, 1 <= N <= 2B - 2.

  Returns:
    `(2B, N)` int32 indices into `concat([z1, z2])`.

  Example:
    >>> import jax
    >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 4, 8))
    >>> mochi_hardest_negatives(z1, z2, num_hardest=3).shape
    (8, 3)
  """
  p = _Pairs(z1, z2, None)
  n, _, _ = _mochi_sizes(p.bg, num_hardest, 0, 0)
  return _hardest(p, n)


def mochi_synthetic_negatives(
    z1: jax.typing.ArrayLike, z2: jax.typing.ArrayLike,
    key: jax.Array, *, num_hardest: Optional[int] = None,
    num_mix: Optional[int] = None,
    num_mix_query: Optional[int] = None) -> jax.Array:
  """The detached synthetic negatives `mochi` appends (single device).

  Returns:
    `(2B, num_mix + num_mix_query, D)` unit vectors: first the type-1 mixes
    of two hard negatives, then the type-2 mixes of the query with one.

  Example:
    >>> import jax
    >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 4, 8))
    >>> mochi_synthetic_negatives(z1, z2, jax.random.key(1), num_hardest=4,
    ...                           num_mix=3, num_mix_query=2).shape
    (8, 5, 8)
  """
  p = _Pairs(z1, z2, None)
  n, s, s2 = _mochi_sizes(p.bg, num_hardest, num_mix, num_mix_query)
  return _synthesise(p, key, _hardest(p, n), s, s2, None)


def mochi(z1: jax.typing.ArrayLike, z2: jax.typing.ArrayLike,
          key: jax.Array, *, temperature: jax.typing.ArrayLike = 0.1,
          num_hardest: Optional[int] = None, num_mix: Optional[int] = None,
          num_mix_query: Optional[int] = None,
          axis_name: Optional[str] = None) -> tuple[jax.Array, Metrics]:
  """NT-Xent with MoCHi hard negative mixing (Kalantidis et al. 2020), in-batch.

  MoCHi mixes the hardest negatives of a memory queue; here the negatives of
  anchor q are the other 2N - 2 views of the (global) batch, as in NT-Xent.
  Per anchor: (1) the N hardest negatives (highest cosine similarity to q);
  (2) `num_mix` type-1 negatives normalize(a n_i + (1 - a) n_j), i, j drawn
  uniformly with replacement from the N hardest, a ~ U(0, 1); (3)
  `num_mix_query` type-2 negatives normalize(b q + (1 - b) n_j), b ~ U(0,
  0.5); (4) the synthetic negatives are `stop_gradient`-ed and only appended
  to the softmax denominator (the query gets gradient through its similarity
  to them, their sources do not).

  Defaults `num_mix = 2N`, `num_mix_query = N`: MoCHi's (N, s, s') =
  (256, 512, 256) setting when N = 256. With `num_mix = num_mix_query = 0`
  the loss equals `ntxent`. MoCHi mixes only after a warm-up of some epochs:
  call `ntxent` then (the `mochi` objective of `research.objectives.registry`
  does, with `objective.mochi.warmup_epochs`). Under `axis_name`, `key` must
  be replicated; the draws then equal a single-device run's.

  Args:
    z1, z2: `(B, D)` first and second views.
    key: PRNG key for the mixing indices and coefficients.
    temperature: t > 0.
    num_hardest: N, 1 <= N <= 2B - 2 (global B); default min(256, 2B - 2).
    num_mix: s, number of type-1 synthetic negatives per anchor.
    num_mix_query: s', number of type-2 synthetic negatives per anchor.
    axis_name: mapped axis of `shard_map`/`pmap`.

  Returns:
    `(loss, metrics)`: metrics of `ntxent` on the real candidates, plus
    `synthetic_sim`, the mean cosine similarity of the queries to their
    synthetic negatives.

  Raises:
    ValueError: as `ntxent`, or for N out of range or negative counts.

  Example:
    >>> import jax
    >>> z1, z2 = jax.random.normal(jax.random.key(0), (2, 8, 16))
    >>> loss, m = mochi(z1, z2, jax.random.key(1), num_hardest=4)
    >>> float(m["synthetic_sim"]) <= 1.0
    True
  """
  c.check_positive(temperature, "temperature")
  p = _Pairs(z1, z2, axis_name)
  n_hard, s, s2 = _mochi_sizes(p.bg, num_hardest, num_mix, num_mix_query)
  logits = p.sim / temperature
  pos = jnp.take_along_axis(logits, p.pos_idx[:, None], axis=1)[:, 0]
  real = jnp.where(p.self_mask, _NEG_INF, logits)
  metrics = _retrieval_metrics(p.sim, p.self_mask, p.pos_mask, p.neg_mask,
                               axis_name)
  if s + s2 > 0:
    synth = _synthesise(p, key, _hardest(p, n_hard), s, s2, axis_name)
    synth_sim = jnp.einsum("bd,bkd->bk", p.q, synth)
    real = jnp.concatenate([real, synth_sim / temperature], axis=1)
    metrics["synthetic_sim"] = c.global_sum(
        jnp.sum(jax.lax.stop_gradient(synth_sim)), axis_name) / (
            2 * p.bg * (s + s2))
  else:
    metrics["synthetic_sim"] = jnp.zeros((), jnp.float32)
  per_anchor = jax.nn.logsumexp(real, axis=1) - pos
  loss = c.global_sum(jnp.sum(per_anchor), axis_name) / (2 * p.bg)
  return loss, metrics
