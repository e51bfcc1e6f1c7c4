"""Every objective under shard_map / pmap on 8 fake CPU devices equals the
single-device value (and gradient) on the same global batch."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

from research import objectives as obj

NDEV = 8
B, D = 16, 6  # global batch; 2 examples per device
AX = "batch"


def _mesh():
  assert jax.device_count() >= NDEV, "conftest must provide 8 CPU devices"
  return jax.make_mesh((NDEV,), (AX,), axis_types=(AxisType.Auto,))


def _data(seed=0):
  r = np.random.default_rng(seed)
  z1 = r.normal(size=(B, D)).astype(np.float32)
  z2 = (z1 + 0.8 * r.normal(size=(B, D))).astype(np.float32)
  labels = r.integers(0, 4, size=B)
  heads = r.normal(size=(2, 3, B, D)).astype(np.float32)
  logits = r.normal(size=(B, 5)).astype(np.float32)
  soft = r.dirichlet(np.ones(5), size=B).astype(np.float32)
  return z1, z2, labels, heads, logits, soft


W1 = np.random.default_rng(1).normal(size=(2 * D, 8)).astype(np.float32) * 0.3
W2 = np.random.default_rng(2).normal(size=(8, 1)).astype(np.float32) * 0.3


def _tau(a, b):
  h = jax.nn.relu(jnp.concatenate(jnp.broadcast_arrays(a, b), -1) @ W1)
  return jax.nn.sigmoid((h @ W2)[..., 0]) * (2 - 1e-5) + 1e-5


KEY = jax.random.key(7)


def _all(z1, z2, labels, heads, logits, soft, axis_name=None):
  """Every objective on (local) inputs; returns a flat dict of scalars."""
  out = {}
  def put(name, res):
    loss, metrics = res
    out[name] = loss
    for k, v in metrics.items():
      out[f"{name}/{k}"] = v
  put("ntxent", obj.ntxent(z1, z2, temperature=0.2, axis_name=axis_name))
  put("supcon", obj.supcon(jnp.stack([z1, z2], 1), labels, temperature=0.1,
                           axis_name=axis_name))
  put("mochi", obj.mochi(z1, z2, KEY, temperature=0.2, num_hardest=10,
                         num_mix=6, num_mix_query=3, axis_name=axis_name))
  put("multihead", obj.multihead(heads[0], heads[1], _tau,
                                 axis_name=axis_name))
  put("ce", obj.cross_entropy(logits, soft, label_smoothing=0.1,
                              axis_name=axis_name))
  return out


def _shard_map(f, in_specs):
  return jax.jit(jax.shard_map(f, mesh=_mesh(), in_specs=in_specs,
                               out_specs=P()))


SPECS = (P(AX), P(AX), P(AX), P(None, None, AX), P(AX), P(AX))


def test_all_objectives_shard_map_and_pmap_equal_single_device():
  data = _data(0)
  single = jax.jit(_all)(*data)
  sharded = _shard_map(functools.partial(_all, axis_name=AX), SPECS)(*data)
  split = lambda x, axis=0: np.stack(np.split(x, NDEV, axis=axis))
  z1, z2, labels, heads, logits, soft = data
  pmapped = jax.pmap(functools.partial(_all, axis_name=AX), axis_name=AX)(
      split(z1), split(z2), split(labels), split(heads, axis=2), split(logits),
      split(soft))
  assert set(single) == set(sharded) == set(pmapped)
  assert len(single) >= 20
  worst = 0.0
  for k in single:
    want = float(single[k])
    assert np.isfinite(want), k
    np.testing.assert_allclose(sharded[k], want, rtol=2e-5, atol=2e-6,
                               err_msg=k)
    # pmap returns the same global value on every device.
    np.testing.assert_allclose(pmapped[k], np.full(NDEV, want), rtol=2e-5,
                               atol=2e-6, err_msg=k)
    worst = max(worst, abs(float(sharded[k]) - want),
                float(np.abs(np.asarray(pmapped[k]) - want).max()))
  print("largest |sharded - single| over all objectives and metrics:", worst)


def _losses(z1, z2, labels, heads, axis_name=None):
  return (obj.ntxent(z1, z2, temperature=0.2, axis_name=axis_name)[0]
          + obj.supcon(jnp.stack([z1, z2], 1), labels, temperature=0.1,
                       axis_name=axis_name)[0]
          + obj.mochi(z1, z2, KEY, temperature=0.2, num_hardest=10, num_mix=6,
                      num_mix_query=3, axis_name=axis_name)[0]
          + obj.multihead(heads[0], heads[1], _tau, axis_name=axis_name)[0])


def test_gradients_through_shard_map_and_pmap_equal_single_device():
  z1, z2, labels, heads, _, _ = _data(1)
  args = (z1, z2, labels, heads)
  want = jax.jit(jax.grad(_losses, argnums=(0, 1, 3)))(*args)
  sm = jax.shard_map(functools.partial(_losses, axis_name=AX), mesh=_mesh(),
                     in_specs=SPECS[:4], out_specs=P())
  got = jax.jit(jax.grad(sm, argnums=(0, 1, 3)))(*args)
  for g, w in zip(got, want):
    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)
    assert np.abs(np.asarray(w)).max() > 1e-3

  # pmap recipe: parameters replicated, gradient inside pmap, then pmean.
  # (Inside pmap each device's embedding gradient is NDEV times its slice of
  # the global gradient -- psum transposes to psum there -- and the pmean over
  # devices undoes exactly that, so the parameter gradient is exact.)
  w = np.random.default_rng(3).normal(size=(D, D)).astype(np.float32)

  def from_params(w, z1, z2, labels, heads, axis_name=None):
    return _losses(z1 @ w, z2 @ w, labels, heads @ w, axis_name=axis_name)

  want_w = jax.jit(jax.grad(from_params))(w, *args)

  def step(w, z1, z2, labels, heads):
    g = jax.grad(functools.partial(from_params, axis_name=AX))(
        w, z1, z2, labels, heads)
    return jax.lax.pmean(g, AX)
  split = lambda x, axis=0: np.stack(np.split(x, NDEV, axis=axis))
  gp = jax.pmap(step, axis_name=AX, in_axes=(None, 0, 0, 0, 0))(
      w, split(z1), split(z2), split(labels), split(heads, axis=2))
  np.testing.assert_allclose(gp, np.broadcast_to(want_w, gp.shape), rtol=1e-4,
                             atol=1e-5)
  assert np.abs(want_w).max() > 1e-2
