"""Tests for jaxaug.batch, to_float and from_float."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxaug
from jaxaug._src import utils


def _noise_op(key, image, *, scale=1.0):
  return image + scale * jax.random.uniform(key, image.shape)


def test_batch_matches_manual_split_and_vmap():
  key = jax.random.key(3)
  images = jnp.zeros((4, 5, 6, 2))
  out = utils.batch(_noise_op)(key, images, scale=0.5)
  keys = jax.random.split(key, 4)
  expected = jnp.stack([_noise_op(k, x, scale=0.5)
                        for k, x in zip(keys, images)])
  np.testing.assert_allclose(out, expected, rtol=0, atol=0)
  assert out.shape == (4, 5, 6, 2)
  # Independent keys per example: no two rows equal.
  flat = np.asarray(out).reshape(4, -1)
  assert len({tuple(r) for r in flat.round(6)}) == 4
  # Same under jit.
  jitted = jax.jit(utils.batch(_noise_op))(key, images, scale=0.5)
  np.testing.assert_allclose(jitted, out, atol=1e-7)


def test_batch_rejects_wrong_rank_and_bad_key():
  fn = utils.batch(_noise_op)
  with pytest.raises(ValueError, match="images must have rank 4"):
    fn(jax.random.key(0), jnp.zeros((5, 6, 2)))
  with pytest.raises(TypeError, match="key"):
    fn(0, jnp.zeros((2, 5, 6, 2)))
  with pytest.raises(TypeError, match="fn must be callable"):
    utils.batch(3)


def test_to_float_and_from_float_roundtrip():
  x = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
  f = jaxaug.to_float(x)
  assert f.dtype == jnp.float32
  np.testing.assert_allclose(f, x.astype(np.float32) / 255.0, rtol=1e-7)
  back = jaxaug.from_float(f)
  assert back.dtype == jnp.uint8
  np.testing.assert_array_equal(back, x)


def test_to_float_passes_floats_through_without_rescaling():
  x = np.array([-0.5, 0.25, 3.0], np.float64)
  np.testing.assert_array_equal(jaxaug.to_float(x),
                                x.astype(np.float32))
  assert jaxaug.to_float(x).dtype == jnp.float32
  with pytest.raises(TypeError, match="images"):
    jaxaug.to_float(np.array([True, False]))


def test_from_float_rounds_and_clips():
  x = jnp.array([-0.2, 0.0, 0.3 / 255, 0.7 / 255, 0.5, 1.0, 1.7])
  out = jaxaug.from_float(x)
  np.testing.assert_array_equal(out, [0, 0, 0, 1, 128, 255, 255])
  out16 = jaxaug.from_float(x, dtype=jnp.float16)
  assert out16.dtype == jnp.float16
  assert float(out16.min()) == 0.0 and float(out16.max()) == 1.0
  with pytest.raises(TypeError, match="images"):
    jaxaug.from_float(jnp.array([1, 2], jnp.int32))


@pytest.mark.parametrize("partitionable", [True, False])
@pytest.mark.parametrize("shape,low,high", [
    ((4, 10), np.array([[0.], [-1.], [0.], [0.]]), np.array([[1.], [1.], [2.],
                                                              [1.]])),
    ((2, 3, 5), 0., 1.),
    ((3,), -2., 3.),
])
def test_uniform_flat_equals_jax_uniform(shape, low, high, partitionable):
  # The flat draw (faster to compile under vmap) must give the values of
  # jax.random.uniform with the same key, shape and bounds.
  from jaxaug._src import checks  # pylint: disable=import-outside-toplevel
  with jax.threefry_partitionable(partitionable):
    for seed in range(3):
      key = jax.random.key(seed)
      want = jax.random.uniform(key, shape, jnp.float32, low, high)
      got = checks.uniform_flat(key, shape, jnp.float32, low, high)
      assert got.shape == want.shape
      np.testing.assert_array_equal(got, want)
      keys = jax.random.split(key, 4)
      np.testing.assert_array_equal(
          jax.vmap(lambda k: checks.uniform_flat(k, shape, jnp.float32, low,
                                                 high))(keys),
          jax.vmap(lambda k: jax.random.uniform(k, shape, jnp.float32, low,
                                                high))(keys))


@pytest.mark.parametrize("partitionable", [True, False])
@pytest.mark.parametrize("shape", [(3, 23, 12, 2), (5, 2), (7,)])
def test_normal_flat_equals_jax_normal(shape, partitionable):
  from jaxaug._src import checks  # pylint: disable=import-outside-toplevel
  with jax.threefry_partitionable(partitionable):
    for seed in range(3):
      key = jax.random.key(seed)
      np.testing.assert_array_equal(
          checks.normal_flat(key, shape, jnp.float32),
          jax.random.normal(key, shape, jnp.float32))
