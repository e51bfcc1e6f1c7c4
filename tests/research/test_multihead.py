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


@pytest.mark.parametrize("k", [1, 3])
def test_multihead_matches_numpy_loop_and_reaches_temperature_net(k):
  r = np.random.default_rng(9)
  c_, b, d, beta = 3, 5, 8, 0.1
  h1 = r.normal(size=(c_, b, d)).astype(np.float32)
  h2 = r.normal(size=(c_, b, d)).astype(np.float32)
  net = models.TemperatureNet(dim=d, hidden=16, rngs=nnx.Rngs(0))
  fn = nnx.jit(lambda net, a, b: obj.multihead(a, b, net, beta=beta,
                                               num_negatives=k))
  loss, m = fn(net, h1, h2)
  om = lambda t: d / 2 * np.log(t) + 1 / t
  total, taus_p, taus_n = 0.0, [], []
  for head in range(c_):
    z = _unit(np.concatenate([h1[head], h2[head]]))
    for i in range(2 * b):
      pos = (i + b) % (2 * b)
      negs = sorted((n for n in range(2 * b) if n not in (i, pos)),
                    key=lambda n: -(z[i] @ z[n]))[:k]
      tp = _np_tau(net, z[i], z[pos])
      tn = np.array([_np_tau(net, z[i], z[n]) for n in negs])
      taus_p.append(tp)
      taus_n += list(tn)
      s_neg = np.array([z[i] @ z[n] for n in negs])
      total += ((1 - z[i] @ z[pos]) / tp + beta * om(tp)
                + np.mean((1 + s_neg) / tn + beta * om(tn)))
  np.testing.assert_allclose(loss, total / (2 * b), rtol=1e-5)
  np.testing.assert_allclose(m["tau_pos"], np.mean(taus_p), rtol=1e-5)
  for name, taus in (("tau_pos", taus_p), ("tau_neg", taus_n)):
    np.testing.assert_allclose(
        [m[f"{name}_min"], m[f"{name}_median"], m[f"{name}_max"]],
        np.percentile(taus, [0, 50, 100]), rtol=1e-5)

  def loss_fn(net, h1, h2):
    return obj.multihead(h1, h2, net, num_negatives=k)[0]
  grads = nnx.jit(nnx.grad(loss_fn))(net, h1, h2)
  leaves = [np.asarray(x) for x in jax.tree.leaves(nnx.state(grads))]
  assert all(np.isfinite(x).all() and np.abs(x).max() > 0 for x in leaves)
  gh = nnx.jit(nnx.grad(loss_fn, argnums=1))(net, h1, h2)
  assert np.isfinite(np.asarray(gh)).all() and np.abs(gh).max() > 0


def test_similarity_gradient_is_the_papers_given_the_temperatures():
  """Only the temperatures' objective differs from the paper's printed form."""
  r = np.random.default_rng(3)
  h1, h2 = r.normal(size=(2, 2, 6, 8)).astype(np.float32)
  tau = lambda a, b: jnp.full(jnp.broadcast_shapes(a.shape, b.shape)[:-1],
                              0.3)

  def paper(h1, h2):  # -s+/t+ + max s-/t- + beta Omega(t+) - beta Omega(t-)
    total = 0.0
    for x1, x2 in zip(h1, h2):
      q = jnp.concatenate([x1, x2])
      q = q / jnp.linalg.norm(q, axis=1, keepdims=True)
      n = q.shape[0]
      sim = q @ q.T
      pos = jnp.concatenate([jnp.arange(n // 2) + n // 2, jnp.arange(n // 2)])
      mask = jnp.eye(n, dtype=bool) | (jnp.arange(n)[None] == pos[:, None])
      s_neg = jnp.max(jnp.where(mask, -jnp.inf, sim), axis=1)
      s_pos = sim[jnp.arange(n), pos]
      total += jnp.mean(-s_pos / 0.3 + s_neg / 0.3)
    return total

  ours = jax.grad(lambda a, b: obj.multihead(a, b, tau)[0], argnums=(0, 1))
  ref = jax.grad(paper, argnums=(0, 1))
  for a, b in zip(ours(h1, h2), ref(h1, h2)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_each_pair_has_one_interior_minimum_the_papers_form_none():
  taus = np.geomspace(1e-5, 2.0, 20001)
  d, beta = 128, 0.1
  for s in (-0.9, 0.0, 0.5, 0.95, 1.0):
    for positive in (True, False):
      kw = dict(positive=positive, beta=beta, dim=d)
      loss = np.asarray(obj.multihead_pair_loss(s, taus, **kw))
      best = taus[np.argmin(loss)]
      want = float(obj.multihead_optimal_temperature(s, **kw))
      assert 2 / d - 1e-9 <= want <= 2 * (2 + beta) / (beta * d) + 1e-9
      np.testing.assert_allclose(best, want, rtol=1e-3)
  # The printed form: t+ runs to the floor (s > beta), t- to a clamp.
  om = np.asarray(obj.omega(taus, d))
  paper_pos = -0.5 / taus + beta * om
  paper_neg = 0.5 / taus - beta * om
  assert np.argmin(paper_pos) == 0
  assert np.argmin(paper_neg) in (0, len(taus) - 1)
  np.testing.assert_allclose(paper_pos[0], -40074, rtol=1e-3)  # issue 14


def _toy(steps=300, k=1, seed=0):
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
    return obj.multihead(z[:, :b], z[:, b:], head.temperature_net,
                         num_negatives=k)

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
    assert m["tau_pos_min"] > 1e-3 and m["tau_neg_min"] > 1e-3, m
    assert m["tau_pos_max"] < 1.5 and m["tau_neg_max"] < 1.5, m
  assert loss1 < loss0
  assert m1["hard_neg_sim"] < m0["hard_neg_sim"] - 0.1, (m0, m1)
  assert m1["pos_sim"] > m0["pos_sim"]
  # The temperatures moved from the network's initial ~1 to the pairs'
  # optima (d = 32, beta = 0.1: between 2/32 and 1.31).
  assert m1["tau_pos_median"] < 0.5 * m0["tau_pos_median"]
