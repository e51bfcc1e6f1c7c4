"""Tests of the AMCL multi-head loss: formula, well-posedness, a toy run."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from research import models
from research import objectives as obj


def _unit(x):
  x = np.asarray(x, np.float64)
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _np_tau(net, a, b):
  def phi(z):
    z = _unit(z)
    h = np.maximum(z @ np.asarray(net.fc1.kernel[...], np.float64)
                   + np.asarray(net.fc1.bias[...], np.float64), 0)
    return (h @ np.asarray(net.fc2.kernel[...], np.float64)
            + np.asarray(net.fc2.bias[...], np.float64))
  return 1 / (1 + np.exp(np.sum(phi(a) * phi(b), -1))) * (2 - 1e-5) + 1e-5


def test_multihead_matches_numpy_loop_and_reaches_temperature_net():
  r = np.random.default_rng(9)
  c_, b, d, beta = 3, 5, 8, 0.1
  h1 = r.normal(size=(c_, b, d)).astype(np.float32)
  h2 = r.normal(size=(c_, b, d)).astype(np.float32)
  net = models.TemperatureNet(dim=d, hidden=16, rngs=nnx.Rngs(0))
  loss, m = nnx.jit(lambda net, a, b: obj.multihead(a, b, net, beta=beta))(
      net, h1, h2)
  om = lambda t: d / 2 * np.log(t) + 1 / t
  total, taus = 0.0, []
  for head in range(c_):
    z = _unit(np.concatenate([h1[head], h2[head]]))
    for i in range(2 * b):
      pos = (i + b) % (2 * b)
      t = _np_tau(net, z[i], z[pos])
      taus.append(t)
      den = sum(np.exp(z[i] @ z[k] / t) for k in range(2 * b) if k != i)
      total += -(z[i] @ z[pos]) / t + np.log(den) + beta * om(t)
  np.testing.assert_allclose(loss, total / (2 * b), rtol=1e-5)
  np.testing.assert_allclose(
      [m["tau_pos"], m["tau_pos_min"], m["tau_pos_median"], m["tau_pos_max"]],
      [np.mean(taus), *np.percentile(taus, [0, 50, 100])], rtol=1e-5)

  def loss_fn(net, h1, h2):
    return obj.multihead(h1, h2, net)[0]
  grads = nnx.jit(nnx.grad(loss_fn))(net, h1, h2)
  leaves = [np.asarray(x) for x in jax.tree.leaves(nnx.state(grads))]
  assert all(np.isfinite(x).all() and np.abs(x).max() > 0 for x in leaves)
  gh = nnx.jit(nnx.grad(loss_fn, argnums=1))(net, h1, h2)
  assert np.isfinite(np.asarray(gh)).all() and np.abs(gh).max() > 0


def test_heads_get_ntxent_gradients_at_the_row_temperatures():
  """The temperature network's inputs carry no gradient into the heads."""
  r = np.random.default_rng(3)
  h1, h2 = r.normal(size=(2, 2, 6, 8)).astype(np.float32)
  net = models.TemperatureNet(dim=8, hidden=8, rngs=nnx.Rngs(0))
  taus = [np.asarray(net(_unit(np.concatenate([a, b])),
                         _unit(np.concatenate([b, a]))), np.float32)
          for a, b in zip(h1, h2)]

  def ref(h1, h2):  # NT-Xent per head, anchor i at its fixed temperature.
    total = 0.0
    for x1, x2, t in zip(h1, h2, taus):
      q = jnp.concatenate([x1, x2])
      q = q / jnp.linalg.norm(q, axis=1, keepdims=True)
      n = q.shape[0]
      logits = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf,
                         q @ q.T / t[:, None])
      pos = jnp.concatenate([jnp.arange(n // 2) + n // 2,
                             jnp.arange(n // 2)])
      total += jnp.mean(jax.nn.logsumexp(logits, 1)
                        - logits[jnp.arange(n), pos])
    return total

  ours = nnx.jit(nnx.grad(lambda a, b, net: obj.multihead(a, b, net)[0],
                          argnums=(0, 1)))(h1, h2, net)
  want = jax.grad(ref, argnums=(0, 1))(h1, h2)
  for a, b in zip(ours, want):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_each_row_has_one_interior_minimum_the_papers_form_none():
  taus = np.geomspace(1e-5, 2.0, 4001)
  d, beta = 64, 0.1
  r = np.random.default_rng(0)
  row = jax.jit(jax.vmap(
      lambda s, t: obj.multihead_row_loss(s, 0, t, beta=beta, dim=d),
      in_axes=(None, 0)))
  for trial in range(20):
    # Rows from easy (positive far above the negatives) to hard (below).
    s = np.clip(r.normal(0.2, 0.3, size=255), -1, 1).astype(np.float32)
    s[0] = np.clip(s[1:].max() + r.uniform(-0.5, 0.5), -1, 1)
    loss = np.asarray(row(s, taus.astype(np.float32)))
    i = int(np.argmin(loss))
    assert 0 < i < len(taus) - 1, trial  # interior
    assert taus[i] <= 2 * (2 + beta) / (beta * d) * 1.01
    assert taus[i] > 1e-3
    # One minimum: decreasing before it, increasing after it.
    assert (np.diff(loss[:i + 1]) <= 1e-4).all()
    assert (np.diff(loss[i:]) >= -1e-4).all()
  # The paper's printed positive term falls to the 1e-5 floor (issue 14).
  paper_pos = -0.5 / taus + beta * np.asarray(obj.omega(taus, 128))
  assert np.argmin(paper_pos) == 0
  np.testing.assert_allclose(paper_pos[0], -40074, rtol=1e-3)
  paper_neg = 0.5 / taus - beta * np.asarray(obj.omega(taus, 128))
  assert np.argmin(paper_neg) in (0, len(taus) - 1)


def _toy(steps=300, seed=0):
  """Fixed random features for two views; heads + temperature net, Adam."""
  r = np.random.default_rng(seed)
  b, f = 64, 32
  f1 = np.maximum(r.normal(size=(b, f)), 0).astype(np.float32)
  f2 = np.maximum(f1 + 0.5 * r.normal(size=(b, f)), 0).astype(np.float32)
  feats = jnp.concatenate([f1, f2])

  class Head(nnx.Module):
    def __init__(self):
      self.projection = models.MultiHeadProjection(
          f, num_heads=3, hidden=64, out=32, rngs=nnx.Rngs(0))
      self.temperature_net = models.TemperatureNet(dim=32, hidden=32,
                                                   rngs=nnx.Rngs(1))

  head = Head()
  opt = nnx.Optimizer(head, optax.adam(1e-3), wrt=nnx.Param)

  def loss_fn(head):
    z = head.projection(feats)
    return obj.multihead(z[:, :b], z[:, b:], head.temperature_net)

  @nnx.jit
  def train(head, opt):
    def body(_, carry):
      head, opt = carry
      grads = nnx.grad(lambda h: loss_fn(h)[0])(head)
      opt.update(head, grads)
      return head, opt
    nnx.fori_loop(0, 50, body, (head, opt))

  history = [nnx.jit(loss_fn)(head)]
  for _ in range(steps // 50):
    train(head, opt)
    history.append(nnx.jit(loss_fn)(head))
  return [(float(loss), {k_: float(v) for k_, v in m.items()})
          for loss, m in history]


def test_toy_run_keeps_temperatures_off_the_clamps_and_separates_negatives():
  history = _toy()
  (loss0, m0), (loss1, m1) = history[0], history[-1]
  for _, m in history:  # Every 50 steps: nothing near 1e-5 or 2.
    assert m["tau_pos_min"] > 1e-3 and m["tau_pos_max"] < 1.5, m
  assert loss1 < loss0
  assert m1["hard_neg_sim"] < m0["hard_neg_sim"] - 0.1, (m0, m1)
  assert m1["contrastive_acc"] > m0["contrastive_acc"]
  # The temperatures moved from the network's initial ~1 to the rows'
  # optima (d = 32, beta = 0.1: at most 2 (2 + beta) / (beta d) = 1.31).
  assert m1["tau_pos_median"] < 0.5 * m0["tau_pos_median"]
