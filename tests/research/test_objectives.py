"""Single-device tests of research.objectives against optax and numpy references."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from research import objectives as obj

B, D = 6, 5

# Jitted entry points: one compiled program per configuration instead of
# dozens of eagerly dispatched ops (eager mode is what makes CPU tests slow).
ntxent = jax.jit(obj.ntxent)
supcon = jax.jit(obj.supcon)
mochi = jax.jit(obj.mochi,
                static_argnames=("num_hardest", "num_mix", "num_mix_query"))
hardest = jax.jit(obj.mochi_hardest_negatives, static_argnames="num_hardest")
synthetic = jax.jit(obj.mochi_synthetic_negatives,
                    static_argnames=("num_hardest", "num_mix", "num_mix_query"))
cross_entropy = jax.jit(obj.cross_entropy, static_argnames="label_smoothing")


def _views(seed=0, b=B, d=D):
  r = np.random.default_rng(seed)
  return (r.normal(size=(b, d)).astype(np.float32),
          r.normal(size=(b, d)).astype(np.float32))


def _unit(x):
  x = np.asarray(x, np.float64)
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _np_ntxent(z1, z2, t):
  """Plain double loop over anchors and candidates (float64)."""
  z = _unit(np.concatenate([z1, z2]))
  n = len(z)
  b = n // 2
  total = 0.0
  for i in range(n):
    pos = (i + b) % n
    den = 0.0
    for k in range(n):
      if k != i:
        den += np.exp(z[i] @ z[k] / t)
    total += -(z[i] @ z[pos] / t) + np.log(den)
  return total / n


def _np_supcon(f, labels, t):
  """Double loop L_out on (B, V, D) features (float64); view-free anchors."""
  b, v, _ = f.shape
  z = _unit(f.reshape(b * v, -1))
  lab = np.repeat(labels, v)
  losses = []
  for i in range(b * v):
    den = sum(np.exp(z[i] @ z[a] / t) for a in range(b * v) if a != i)
    pos = [p for p in range(b * v) if p != i and lab[p] == lab[i]]
    if not pos:
      continue
    losses.append(-np.mean([z[i] @ z[p] / t - np.log(den) for p in pos]))
  return np.mean(losses)


def test_ntxent_matches_optax_and_numpy():
  z1, z2 = _views(0)
  labels = np.concatenate([np.arange(B)] * 2)
  worst_optax = worst_np = 0.0
  for t in (0.07, 0.5, 1.0):
    loss, m = ntxent(z1, z2, temperature=t)
    ref = optax.losses.ntxent(jnp.concatenate([z1, z2]), jnp.asarray(labels), t)
    worst_optax = max(worst_optax, abs(float(loss) - float(ref)))
    worst_np = max(worst_np, abs(float(loss) - _np_ntxent(z1, z2, t)))
  assert worst_optax < 1e-5 and worst_np < 1e-5, (worst_optax, worst_np)
  z = _unit(np.concatenate([z1, z2]))
  s = z @ z.T
  pos = np.concatenate([np.arange(B) + B, np.arange(B)])
  np.testing.assert_allclose(m["pos_sim"], s[np.arange(2 * B), pos].mean(),
                             atol=1e-6)
  neg = ~np.eye(2 * B, dtype=bool)
  neg[np.arange(2 * B), pos] = False
  np.testing.assert_allclose(m["neg_sim"], s[neg].mean(), atol=1e-6)
  np.fill_diagonal(s, -np.inf)
  np.testing.assert_allclose(m["contrastive_acc"],
                             np.mean(s.argmax(1) == pos), atol=1e-7)


def test_ntxent_perfect_views_and_jit():
  z1, _ = _views(1)
  _, m = ntxent(z1, 3.0 * z1, temperature=0.1)
  assert float(m["contrastive_acc"]) == 1.0
  assert abs(float(m["pos_sim"]) - 1.0) < 1e-6
  z1, z2 = _views(2)
  eager = ntxent(z1, z2, temperature=0.2)[0]
  jitted = jax.jit(lambda a, b: ntxent(a, b, temperature=0.2)[0])(z1, z2)
  np.testing.assert_allclose(eager, jitted, rtol=1e-6)


def test_ntxent_gradient_matches_finite_differences():
  z1, z2 = _views(3, b=4, d=3)
  t = 0.3
  g1, g2 = jax.jit(jax.grad(lambda a, b: ntxent(a, b, temperature=t)[0],
                            argnums=(0, 1)))(z1, z2)
  eps = 1e-6
  fd = np.zeros((2,) + z1.shape)
  for which in range(2):
    for idx in np.ndindex(z1.shape):
      a, b = z1.astype(np.float64), z2.astype(np.float64)
      arrs = [a.copy(), b.copy()]
      arrs[which][idx] += eps
      up = _np_ntxent(*arrs, t)
      arrs[which][idx] -= 2 * eps
      down = _np_ntxent(*arrs, t)
      fd[(which,) + idx] = (up - down) / (2 * eps)
  np.testing.assert_allclose(np.stack([g1, g2]), fd, atol=2e-5)
  assert np.abs(fd).max() > 1e-2  # the check is not vacuous


def test_supcon_distinct_labels_equals_ntxent():
  z1, z2 = _views(4)
  f = np.stack([z1, z2], axis=1)
  for t in (0.07, 0.5):
    ref, ref_m = ntxent(z1, z2, temperature=t)
    got, got_m = supcon(f, jnp.arange(B) * 7, temperature=t)
    got_none, _ = supcon(f, None, temperature=t)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    np.testing.assert_allclose(got_none, ref, rtol=1e-6)
  for key in ("contrastive_acc", "pos_sim", "neg_sim"):
    np.testing.assert_allclose(got_m[key], ref_m[key], atol=1e-6)


@pytest.mark.parametrize("views", [1, 2, 3])
def test_supcon_repeated_labels_matches_numpy(views):
  r = np.random.default_rng(5 + views)
  f = r.normal(size=(7, views, D)).astype(np.float32)
  labels = np.array([0, 1, 0, 2, 1, 0, 3])  # label 3 alone: no positive at V=1
  loss, m = supcon(f, labels, temperature=0.1)
  np.testing.assert_allclose(loss, _np_supcon(f, labels, 0.1), rtol=1e-5)
  assert np.isfinite(np.asarray(jax.jit(jax.grad(
      lambda x: supcon(x, labels, temperature=0.1)[0]))(f))).all()
  z = _unit(f.reshape(-1, D))
  lab = np.repeat(labels, views)
  same = lab[:, None] == lab[None, :]
  np.fill_diagonal(same, False)
  s = z @ z.T
  np.testing.assert_allclose(m["pos_sim"], s[same].mean(), atol=1e-6)
  np.testing.assert_allclose(m["neg_sim"],
                             s[lab[:, None] != lab[None, :]].mean(), atol=1e-6)


def test_mochi_hardest_negatives_match_argsort():
  z1, z2 = _views(6, b=8)
  got = np.asarray(hardest(z1, z2, num_hardest=5))
  z = _unit(np.concatenate([z1, z2]))
  s = z @ z.T
  n = len(z)
  for i in range(n):
    s[i, i] = s[i, (i + 8) % n] = -np.inf
  want = np.argsort(-s, axis=1, kind="stable")[:, :5]
  np.testing.assert_array_equal(got, want)


def test_mochi_zero_mixing_is_ntxent_and_mixing_raises_loss():
  z1, z2 = _views(7, b=8)
  key = jax.random.key(0)
  ref, _ = ntxent(z1, z2, temperature=0.2)
  zero, _ = mochi(z1, z2, key, temperature=0.2, num_mix=0, num_mix_query=0)
  np.testing.assert_allclose(zero, ref, rtol=1e-6)
  mixed, m = mochi(z1, z2, key, temperature=0.2, num_hardest=6)
  assert float(mixed) > float(ref) + 1e-3
  # Synthetic negatives mixed from hard negatives are harder than average.
  assert float(m["synthetic_sim"]) > float(m["neg_sim"])
  again, _ = mochi(z1, z2, key, temperature=0.2, num_hardest=6)
  other, _ = mochi(z1, z2, jax.random.key(1), temperature=0.2,
                       num_hardest=6)
  assert float(again) == float(mixed) and float(other) != float(mixed)


def _loss_with_extra_negatives(z1, z2, extra, t):
  """NT-Xent whose denominators also hold per-anchor `extra` (2B, K, D)."""
  q = jnp.concatenate([z1, z2])
  q = q / jnp.linalg.norm(q, axis=1, keepdims=True)
  n = q.shape[0]
  s = q @ q.T / t
  pos = jnp.concatenate([jnp.arange(n // 2) + n // 2, jnp.arange(n // 2)])
  s_extra = jnp.einsum("bd,bkd->bk", q, extra) / t
  real = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, s)
  lse = jax.nn.logsumexp(jnp.concatenate([real, s_extra], axis=1), axis=1)
  return jnp.mean(lse - s[jnp.arange(n), pos])


def test_mochi_synthetic_negatives_carry_no_gradient():
  z1, z2 = _views(8, b=8)
  key = jax.random.key(3)
  kw = dict(num_hardest=6, num_mix=5, num_mix_query=3)
  synth = synthetic(z1, z2, key, **kw)
  assert synth.shape == (16, 8, D)
  np.testing.assert_allclose(np.linalg.norm(synth, axis=-1), 1.0, rtol=1e-5)
  loss_fn = lambda a, b: mochi(a, b, key, temperature=0.2, **kw)[0]
  np.testing.assert_allclose(loss_fn(z1, z2),
                             _loss_with_extra_negatives(z1, z2, synth, 0.2),
                             rtol=1e-6)
  g = jax.jit(jax.grad(loss_fn, argnums=(0, 1)))(z1, z2)
  # Reference 1: synthetic negatives frozen as constants -> same gradient.
  g_const = jax.jit(jax.grad(
      lambda a, b: _loss_with_extra_negatives(a, b, synth, 0.2),
      argnums=(0, 1)))(z1, z2)
  # Reference 2: synthetic negatives rebuilt differentiably -> different.
  def live(a, b):
    # Same values, but the synthetic negatives follow the embeddings (through
    # other rows, so the normalisation cannot project the path away).
    q = jnp.concatenate([a, b])
    moved = jnp.roll(q, 1, axis=0)[:, None, :]
    return _loss_with_extra_negatives(
        a, b, synth + moved - jax.lax.stop_gradient(moved), 0.2)
  g_live = jax.jit(jax.grad(live, argnums=(0, 1)))(z1, z2)
  g_plain = jax.jit(jax.grad(lambda a, b: ntxent(a, b, temperature=0.2)[0],
                             argnums=(0, 1)))(z1, z2)
  for a, b, c, p in zip(g, g_const, g_live, g_plain):
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.abs(np.asarray(a) - np.asarray(c)).max() > 1e-4
    assert np.abs(np.asarray(a) - np.asarray(p)).max() > 1e-4


def test_cross_entropy_matches_optax():
  r = np.random.default_rng(10)
  logits = r.normal(size=(6, 4)).astype(np.float32)
  labels = np.array([0, 3, 1, 1, 2, 0])
  loss, m = cross_entropy(logits, labels)
  ref = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
  np.testing.assert_allclose(loss, ref, rtol=1e-6)
  np.testing.assert_allclose(m["accuracy"],
                             np.mean(logits.argmax(1) == labels))
  soft = r.dirichlet(np.ones(4), size=6).astype(np.float32)
  loss, _ = cross_entropy(logits, soft, label_smoothing=0.1)
  ref = optax.softmax_cross_entropy(logits,
                                    optax.smooth_labels(soft, 0.1)).mean()
  np.testing.assert_allclose(loss, ref, rtol=1e-6)


def test_bad_inputs_raise():
  z1, z2 = _views(11)
  key = jax.random.key(0)
  with pytest.raises(ValueError, match="z1 and z2"):
    obj.ntxent(z1, z2[:4])
  with pytest.raises(ValueError, match="at least 2"):
    obj.ntxent(z1[:1], z2[:1])
  with pytest.raises(ValueError, match="temperature"):
    obj.ntxent(z1, z2, temperature=0.0)
  with pytest.raises(ValueError, match="temperature"):
    obj.supcon(np.stack([z1, z2], 1), temperature=-1.0)
  with pytest.raises(ValueError, match="labels"):
    obj.supcon(np.stack([z1, z2], 1), np.zeros((B, 2), int))
  with pytest.raises(ValueError, match="features"):
    obj.supcon(z1)
  with pytest.raises(ValueError, match="num_hardest"):
    obj.mochi(z1, z2, key, num_hardest=2 * B - 1)
  with pytest.raises(ValueError, match="z1 and z2"):
    obj.mochi(z1, z2[:3], key)
  with pytest.raises(ValueError, match="heads1 and heads2"):
    obj.multihead(z1[None], z2[None, :3], lambda a, b: a[..., 0] * 0 + 1)
  with pytest.raises(ValueError, match="labels"):
    obj.cross_entropy(z1, np.zeros((B + 1,), int))
  with pytest.raises(ValueError, match="label_smoothing"):
    obj.cross_entropy(z1, np.zeros((B,), int), label_smoothing=1.0)
