"""Tests of research.optim: decay / trust-ratio roles and per-head LARS."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from research import models
from research import optim
from research.configs import base
from research.model import Model


def _name(entry):
  return str(getattr(entry, "key", getattr(entry, "name",
                                           getattr(entry, "idx", entry))))


def _expected_roles(model):
  """Roles from the module *types* (independent of `optim.param_role`)."""
  roles = {}
  for path, node in nnx.iter_graph(model):
    key = tuple(str(p) for p in path)
    if isinstance(node, (nnx.Linear, nnx.Conv)):
      roles[key + ("kernel",)] = "kernel"
    elif isinstance(node, models.MultiHeadProjection):
      for name in ("w1", "w2"):
        roles[key + (name,)] = "stacked_kernel"
  return roles


def _config(objective, encoder, head_layers):
  c = base.get_config(objective, "digits")
  c.model.encoder = encoder
  c.model.head_layers = head_layers
  return c


def _by_path(tree):
  return {tuple(_name(p) for p in path): leaf
          for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


@pytest.mark.parametrize("encoder", models.ENCODERS)
def test_every_parameter_of_every_model_and_objective_has_its_role(encoder):
  seen = set()
  for objective, head_layers in itertools.product(base.OBJECTIVES, (2, 3)):
    config = _config(objective, encoder, head_layers)
    # eval_shape: the parameter tree without initialising a ResNet-50.
    model = nnx.eval_shape(lambda c=config: Model(c, 10, rngs=nnx.Rngs(0)))
    expected = _expected_roles(model)
    params = nnx.state(model, nnx.Param).to_pure_dict()
    roles = _by_path(optim.param_roles(params))
    decayed = _by_path(optim.decay_mask(params))
    assert roles.keys() == decayed.keys() == _by_path(params).keys()
    for key, role in roles.items():
      assert role == expected.get(key, "other"), (objective, key, role)
      assert bool(decayed[key]) == (role != "other"), (objective, key)
      if role == "other":  # Biases, BatchNorm scales and offsets only.
        assert key[-1] in ("bias", "scale", "b1", "b2"), (objective, key)
      seen.add(role)
  assert seen == set(optim.ROLES)


def _moved_with_zero_gradient(config):
  """Names of the parameters one step with zero gradient moves (decay)."""
  model = Model(config, 10, rngs=nnx.Rngs(0))
  params = nnx.state(model, nnx.Param).to_pure_dict()
  tx, _ = optim.make_optimizer(config.optim, 128)
  state = tx.init(params)
  zeros = jax.tree.map(jnp.zeros_like, params)
  updates, _ = jax.jit(tx.update)(zeros, state, params)
  moved = set()
  for path, u in jax.tree_util.tree_leaves_with_path(updates):
    if np.abs(np.asarray(u)).max() > 0:
      moved.add(tuple(_name(p) for p in path))
  return moved, params


@pytest.mark.parametrize("optimizer", base.OPTIMIZERS)
def test_only_kernels_are_decayed(optimizer):
  config = _config("multihead", "small_cnn", 2)
  config.optim.optimizer = optimizer
  config.optim.weight_decay = 0.1
  config.optim.warmup_steps = 0
  moved, params = _moved_with_zero_gradient(config)
  want = {tuple(_name(p) for p in path)
          for path, _ in jax.tree_util.tree_leaves_with_path(params)
          if optim.param_role(path) != "other" and _name(path[0]) != "probe"}
  assert moved == want
  assert ("head", "projection", "w1") in moved
  assert ("head", "projection", "b1") not in moved


def test_lars_scales_kernels_per_layer_and_heads_per_head_only():
  """One LARS step with weight decay: biases and norms get exactly -lr g."""
  config = _config("multihead", "small_cnn", 3)
  model = Model(config, 10, rngs=nnx.Rngs(0))
  params = nnx.state(model, nnx.Param).to_pure_dict()
  params.pop("probe")
  lr, wd, eta = 0.5, 0.1, 1e-3
  tx = optim.lars(lr, weight_decay=wd, trust_coefficient=eta, momentum=0.9)
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  grads = treedef.unflatten([jax.random.normal(k, x.shape)
                             for k, x in zip(keys, leaves)])
  updates, _ = tx.update(grads, tx.init(params), params)
  gs, ws = _by_path(grads), _by_path(params)
  roles = _by_path(optim.param_roles(params))
  for key, u in _by_path(updates).items():
    g, w, u = np.asarray(gs[key]), np.asarray(ws[key]), np.asarray(u)
    if roles[key] == "other":
      np.testing.assert_array_equal(u, -lr * g)
      continue
    d = g + wd * w
    if roles[key] == "kernel":
      ratio = eta * np.linalg.norm(w) / np.linalg.norm(d)
      np.testing.assert_allclose(u, -lr * ratio * d, rtol=1e-5)
    else:
      for c in range(w.shape[0]):
        ratio = eta * np.linalg.norm(w[c]) / np.linalg.norm(d[c])
        np.testing.assert_allclose(u[c], -lr * ratio * d[c], rtol=1e-5)


def test_lars_on_stacked_heads_equals_per_layer_reference():
  """Our LARS on (C, ...) head weights == optax.lars on C separate layers."""
  heads = models.MultiHeadProjection(6, num_heads=3, hidden=5, out=4,
                                     rngs=nnx.Rngs(0))
  stacked = {"projection": nnx.state(heads, nnx.Param).to_pure_dict()}
  p = stacked["projection"]
  # Make the heads' norms differ, so that a shared ratio would be wrong.
  p["w1"] = p["w1"] * jnp.array([1.0, 3.0, 0.2])[:, None, None]

  def split(tree):
    t = tree["projection"]
    return {f"head{c}": {"fc1": {"kernel": t["w1"][c], "bias": t["b1"][c]},
                         "fc2": {"kernel": t["w2"][c], "bias": t["b2"][c]}}
            for c in range(3)}

  kw = dict(weight_decay=1e-2, trust_coefficient=1e-3, momentum=0.9)
  ours = optim.lars(0.3, **kw)
  ref = optax.lars(0.3, weight_decay_mask=optim.decay_mask,
                   trust_ratio_mask=optim.decay_mask, **kw)
  params_s, params_r = stacked, split(stacked)
  state_s, state_r = ours.init(params_s), ref.init(params_r)
  for step in range(3):
    grads = jax.tree.map(
        lambda x, s=step: jax.random.normal(jax.random.key(s), x.shape), p)
    grads = {"projection": grads}
    u_s, state_s = ours.update(grads, state_s, params_s)
    u_r, state_r = ref.update(split(grads), state_r, params_r)
    for a, b in zip(jax.tree.leaves(split(u_s)), jax.tree.leaves(u_r)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
    params_s = optax.apply_updates(params_s, u_s)
    params_r = optax.apply_updates(params_r, u_r)
  # And a shared trust ratio over the stacked array would not match.
  shared = optax.lars(0.3, weight_decay_mask=optim.decay_mask,
                      trust_ratio_mask=optim.decay_mask, **kw)
  u_shared, _ = shared.update(grads, shared.init(stacked), stacked)
  u_ours, _ = ours.update(grads, ours.init(stacked), stacked)
  assert not np.allclose(u_shared["projection"]["w1"],
                         u_ours["projection"]["w1"])


def test_lars_without_stacked_heads_is_optax_lars():
  model = Model(base.get_config("simclr", "digits"), 10, rngs=nnx.Rngs(0))
  params = nnx.state(model, nnx.Param).to_pure_dict()
  kw = dict(weight_decay=1e-4, trust_coefficient=1e-3, momentum=0.9)
  ours = optim.lars(0.2, **kw)
  ref = optax.lars(0.2, weight_decay_mask=optim.decay_mask,
                   trust_ratio_mask=optim.decay_mask, **kw)
  grads = jax.tree.map(lambda x: jnp.full_like(x, 0.01) + 0.1 * x, params)
  a, _ = ours.update(grads, ours.init(params), params)
  b, _ = ref.update(grads, ref.init(params), params)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(x, y, rtol=1e-6)
