"""The objectives as the trainer calls them: MoCHi's warm-up, soft labels."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from research import augment
from research import models
from research import objectives as obj
from research.configs import base
from research.objectives import registry

B, F = 8, 12
KEY = jax.random.key(3)


def _mochi_setup(warmup_epochs=2.0):
  cfg = base.get_config("mochi", "digits").objective
  cfg.temperature = 0.2
  cfg.mochi.num_hardest, cfg.mochi.num_mix = 6, 5
  cfg.mochi.num_mix_query = 3
  cfg.mochi.warmup_epochs = warmup_epochs
  head = models.ProjectionHead(F, hidden=16, out=8, rngs=nnx.Rngs(0))
  feats = jax.random.normal(jax.random.key(1), (2 * B, F))
  return cfg, head, feats


def _grads(fn, head, feats):
  """Gradients of fn(head, feats) -> (loss, metrics) w.r.t. head and feats."""
  graphdef, params = nnx.split(head)

  def loss(params, feats):
    return fn(nnx.merge(graphdef, params), feats)[0]
  return jax.jit(jax.grad(loss, argnums=(0, 1)))(params, feats)


def test_mochi_is_ntxent_before_its_warmup_and_mochi_after():
  cfg, head, feats = _mochi_setup()
  m = cfg.mochi
  loss = registry.get("mochi").loss

  def at(epoch):
    return lambda h, f: loss(h, f, None, cfg, KEY, jnp.float32(epoch))

  def plain(h, f):
    z = h(f)
    return obj.ntxent(z[:B], z[B:], temperature=cfg.temperature)

  def mixing(h, f):
    z = h(f)
    return obj.mochi(z[:B], z[B:], KEY, temperature=cfg.temperature,
                     num_hardest=m.num_hardest, num_mix=m.num_mix,
                     num_mix_query=m.num_mix_query)

  for epoch, ref in ((0.0, plain), (1.99, plain), (2.0, mixing),
                     (7.5, mixing)):
    got, want = _grads(at(epoch), head, feats), _grads(ref, head, feats)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  # The two phases' gradients really differ.
  a, b = _grads(plain, head, feats), _grads(mixing, head, feats)
  assert np.abs(np.asarray(a[1]) - np.asarray(b[1])).max() > 1e-4
  # MoCHi's metric is NaN (not logged) during the warm-up only.
  _, before = jax.jit(at(1.0))(head, feats)
  _, after = jax.jit(at(2.0))(head, feats)
  assert np.isnan(before["synthetic_sim"])
  assert np.isfinite(after["synthetic_sim"])
  assert registry.get("mochi").phase_metrics == ("synthetic_sim",)


def test_mochi_computes_no_mixing_during_its_warmup(monkeypatch):
  """A counter in the mixing branch, one compiled program, epoch traced."""
  cfg, head, feats = _mochi_setup(warmup_epochs=2.0)
  calls = []
  real = registry.mochi

  def counted(*args, **kwargs):
    jax.debug.callback(lambda: calls.append(1))
    return real(*args, **kwargs)

  monkeypatch.setattr(registry, "mochi", counted)
  loss = registry.get("mochi").loss
  fn = nnx.jit(lambda h, f, e: loss(h, f, None, cfg, KEY, e)[0])
  for epoch in (0.0, 0.5, 1.9):
    fn(head, feats, jnp.float32(epoch)).block_until_ready()
  jax.effects_barrier()
  assert not calls
  for epoch in (2.0, 3.0):
    fn(head, feats, jnp.float32(epoch)).block_until_ready()
  jax.effects_barrier()
  assert len(calls) == 2

  # The jaxpr: a cond whose warm-up branch has no top_k and no random draws.
  monkeypatch.setattr(registry, "mochi", real)
  jaxpr = jax.make_jaxpr(lambda f, e: loss(head, f, None, cfg, KEY, e)[0])(
      feats, jnp.float32(0.0))
  conds = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "cond"]
  assert len(conds) == 1
  warmup_branch, mixing_branch = conds[0].params["branches"]
  prims = lambda j: {e.primitive.name for e in j.jaxpr.eqns}
  assert "top_k" not in prims(warmup_branch)
  assert "top_k" in prims(mixing_branch)
  assert not {p for p in prims(warmup_branch) if "random" in p}


def test_mochi_without_warmup_has_no_branch():
  cfg, head, feats = _mochi_setup(warmup_epochs=0.0)
  loss = registry.get("mochi").loss
  jaxpr = jax.make_jaxpr(lambda f: loss(head, f, None, cfg, KEY, 0.0)[0])(
      feats)
  assert "cond" not in {e.primitive.name for e in jaxpr.jaxpr.eqns}


def test_mixed_batches_give_soft_labels_that_cross_entropy_takes():
  images = jax.random.uniform(jax.random.key(0), (8, 16, 16, 3))
  labels = jnp.arange(8) % 4
  config = base.get_config("cross_entropy+cutmix", "digits")
  head = nnx.Linear(F, 4, rngs=nnx.Rngs(0))
  feats = jax.random.normal(jax.random.key(2), (8, F))
  for mixing in ("mixup", "cutmix", "resizemix"):
    config.augment.mixing = mixing
    aug = config.augment.copy_and_resolve_references()
    fn = jax.jit(lambda k, x, y, a=aug: augment.mix(k, x, y, a, 4))
    mixed, soft = fn(jax.random.key(5), images, labels)
    assert mixed.shape == images.shape and soft.shape == (8, 4)
    np.testing.assert_allclose(np.asarray(soft).sum(1), 1.0, rtol=1e-6)
    assert (np.asarray(soft).max(1) < 1).any(), mixing  # something mixed
    loss, _ = registry.get("cross_entropy").loss(head, feats, soft,
                                                 config.objective, KEY, 0.0)
    want = optax.softmax_cross_entropy(head(feats), soft).mean()
    np.testing.assert_allclose(loss, want, rtol=1e-6)
