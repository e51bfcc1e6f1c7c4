"""Tests for chain / with_probability / one_of / in_random_order and fusion."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxaug
from jaxaug._src import geometric


def _smooth_image(h=16, w=16):
  yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
  img = np.stack([0.5 + 0.4 * np.sin(yy / 3.0) * np.cos(xx / 4.0),
                  (yy + xx) / (h + w), 0.5 + 0.3 * np.cos(xx / 2.5)], -1)
  return jnp.asarray(img, jnp.float32)


def _noise_image(h=16, w=16, seed=0):
  rng = np.random.default_rng(seed)
  return jnp.asarray(rng.random((h, w, 3)), jnp.float32)


def _brighten(key, image):
  del key
  return jnp.clip(image * 0.8 + 0.1, 0.0, 1.0)


def _matrix(fns, key, hw):
  m = jnp.eye(3)
  for k, fn in zip(jax.random.split(key, len(fns)), fns):
    mi, hw = geometric.geometric_op(fn).sample(k, hw)
    m = m @ mi
  return m, hw


def test_chain_fuses_geometric_ops():
  fns = (jaxaug.random_rotate,
         functools.partial(jaxaug.random_scale, scale=(0.7, 0.8)),
         jaxaug.random_translate)
  img = _noise_image()
  key = jax.random.key(0)

  @jax.jit
  def run(key, img):
    fused = jaxaug.chain(*fns)(key, img)
    unfused = jaxaug.chain(*fns, fuse=False)(key, img)
    m, _ = _matrix(fns, key, img.shape[:2])
    return fused, unfused, jaxaug.affine_transform(img, m)

  fused, unfused, product = run(key, img)
  np.testing.assert_allclose(fused, product, atol=1e-6)
  assert not np.allclose(fused, unfused, atol=1e-2)
  # One bilinear pass blurs less than three: higher contrast.
  assert float(fused.std()) > float(unfused.std())
  # Whole chain is fusable itself (nested use).
  assert geometric.geometric_op(jaxaug.chain(*fns)) is not None


def test_chain_non_geometric_op_breaks_group_and_keys_per_op():
  rot = jaxaug.random_rotate
  img = _smooth_image()
  key = jax.random.key(1)
  k = jax.random.split(key, 3)
  out = jax.jit(jaxaug.chain(rot, _brighten, rot))(key, img)
  expected = rot(k[2], _brighten(k[1], rot(k[0], img)))
  np.testing.assert_allclose(out, expected, atol=1e-6)
  assert geometric.geometric_op(jaxaug.chain(rot, _brighten)) is None


def test_simclr_style_chain_changes_size_and_matches_unfused_inside():
  crop = functools.partial(jaxaug.random_resized_crop, size=10)
  aug = jaxaug.chain(crop, jaxaug.random_flip_left_right)
  img = _smooth_image(20, 24)
  keys = jax.random.split(jax.random.key(2), 4)
  run = jax.jit(jax.vmap(aug, in_axes=(0, None)))
  out = run(keys, img)
  assert out.shape == (4, 10, 10, 3) and out.dtype == jnp.float32
  unfused = jax.jit(jax.vmap(jaxaug.chain(
      crop, jaxaug.random_flip_left_right, fuse=False), in_axes=(0, None)))(
          keys, img)
  # Flips are exact, so fused and unfused agree everywhere.
  np.testing.assert_allclose(out, unfused, atol=1e-5)


def test_with_probability_and_fusion():
  img = _noise_image()
  keys = jax.random.split(jax.random.key(3), 64)
  ra = jaxaug.with_probability(jaxaug.random_rotate, 0.5)
  outs = jax.jit(jax.vmap(ra, in_axes=(0, None)))(keys, img)
  same = np.array([np.array_equal(o, img) for o in np.asarray(outs)])
  assert 10 < same.sum() < 54  # about half untouched
  op = geometric.geometric_op(ra)
  assert op is not None
  via_matrix = jax.jit(jax.vmap(lambda k: jaxaug.affine_transform(
      img, op.sample(k, (16, 16))[0])))(keys[:4])
  np.testing.assert_allclose(outs[:4], via_matrix, atol=1e-5)
  never = jaxaug.with_probability(jaxaug.random_rotate, 0.0)
  np.testing.assert_array_equal(jax.jit(never)(keys[0], img), img)
  # Fusable inside a chain: equals the product matrix.
  fns = (ra, jaxaug.random_scale)
  out = jax.jit(jaxaug.chain(*fns))(keys[5], img)
  m, _ = _matrix(fns, keys[5], (16, 16))
  np.testing.assert_allclose(out, jaxaug.affine_transform(img, m), atol=1e-5)


def test_one_of_and_in_random_order():
  img = _smooth_image()
  keys = jax.random.split(jax.random.key(4), 32)
  dark = lambda k, x: x * 0.5
  light = lambda k, x: 0.5 + x * 0.5
  aug = jaxaug.one_of(dark, light, weights=(1.0, 3.0))
  outs = np.asarray(jax.jit(jax.vmap(aug, in_axes=(0, None)))(keys, img))
  is_dark = np.array([np.allclose(o, img * 0.5) for o in outs])
  is_light = np.array([np.allclose(o, 0.5 + img * 0.5) for o in outs])
  assert np.all(is_dark | is_light) and 2 <= is_dark.sum() <= 16
  only = jaxaug.one_of(dark, light, weights=(0.0, 1.0))
  np.testing.assert_allclose(jax.jit(only)(keys[0], img), 0.5 + img * 0.5)
  # random_order: both orders occur, each op applied once.
  add = lambda k, x: x + 0.1
  mul = lambda k, x: x * 0.5
  ro = jaxaug.in_random_order(add, mul)
  outs = np.asarray(jax.jit(jax.vmap(ro, in_axes=(0, None)))(keys, img))
  first_add = np.array([np.allclose(o, (img + 0.1) * 0.5) for o in outs])
  first_mul = np.array([np.allclose(o, img * 0.5 + 0.1) for o in outs])
  assert np.all(first_add | first_mul)
  assert first_add.any() and first_mul.any()
  # Geometric random_order fuses into one matrix with the same randomness.
  gro = jaxaug.in_random_order(jaxaug.random_rotate, jaxaug.random_flip_up_down)
  op = geometric.geometric_op(gro)
  m, _ = op.sample(keys[0], (16, 16))
  # Flips are exact and rotation is the only resampling, so the two-pass
  # and one-pass results agree away from the borders.
  np.testing.assert_allclose(
      gro(keys[0], img)[4:12, 4:12],
      jaxaug.affine_transform(img, m)[4:12, 4:12], atol=1e-5)


def test_same_key_same_output_different_keys_differ():
  aug = jaxaug.chain(
      jaxaug.with_probability(jaxaug.random_rotate, 0.8),
      jaxaug.one_of(jaxaug.random_scale, jaxaug.random_shear),
      _brighten,
      jaxaug.in_random_order(jaxaug.random_translate,
                          jaxaug.random_flip_left_right))
  img = _noise_image()
  keys = jax.random.split(jax.random.key(5), 3)
  run = jax.jit(lambda k, x: (jax.vmap(aug, in_axes=(0, None))(k, x),
                              aug(k[0], x)))
  out, single = run(keys, img)
  np.testing.assert_array_equal(out, run(keys, img)[0])
  np.testing.assert_allclose(out[0], single, atol=1e-5)
  assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])
  assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
  assert out.dtype == img.dtype and out.shape == (3,) + img.shape


def test_bad_inputs():
  img = _noise_image()
  key = jax.random.key(0)
  with pytest.raises(ValueError, match="probability"):
    jaxaug.with_probability(jaxaug.random_rotate, 1.5)
  with pytest.raises(ValueError, match="at least one"):
    jaxaug.chain()
  with pytest.raises(TypeError, match="callable"):
    jaxaug.one_of(jaxaug.random_rotate, 3)
  with pytest.raises(ValueError, match="weights"):
    jaxaug.one_of(jaxaug.random_rotate, jaxaug.random_scale, weights=(1.0,))
  with pytest.raises(ValueError, match="weights"):
    jaxaug.one_of(jaxaug.random_rotate, jaxaug.random_scale,
                  weights=(0.0, 0.0))
  crop = functools.partial(jaxaug.random_crop, size=8)
  with pytest.raises(ValueError, match="shape"):
    jaxaug.one_of(jaxaug.random_rotate, crop)(key, img)
  with pytest.raises(ValueError, match="shape"):
    jaxaug.in_random_order(jaxaug.random_rotate, crop)(key, img)
  with pytest.raises(ValueError, match="shape"):
    jaxaug.with_probability(crop, 0.5)(key, img)
  with pytest.raises(ValueError, match="image"):
    jaxaug.chain(jaxaug.random_rotate, jaxaug.random_scale)(key, img[..., 0])


def test_chain_of_unfused_steps_equals_manual_composition_with_gradients():
  # Each step's output is materialised (an optimisation barrier): values and
  # gradients must equal calling the steps by hand with the chain's keys.
  steps = (functools.partial(jaxaug.random_contrast, factor=(0.5, 1.5)),
           functools.partial(jaxaug.random_grayscale, probability=0.5),
           jaxaug.random_rotate)
  aug = jaxaug.chain(*steps)
  key = jax.random.key(11)

  def by_hand(x):
    for k, f in zip(jax.random.split(key, len(steps)), steps):
      x = f(k, x)
    return x

  x = jax.random.uniform(jax.random.key(12), (9, 7, 3))
  np.testing.assert_allclose(jax.jit(aug)(key, x), by_hand(x), atol=1e-6)
  g = jax.grad(lambda y: jnp.sum(aug(key, y) ** 2))(x)
  g_ref = jax.grad(lambda y: jnp.sum(by_hand(y) ** 2))(x)
  assert np.all(np.isfinite(g)) and np.abs(g).sum() > 0
  np.testing.assert_allclose(g, g_ref, atol=1e-5)
