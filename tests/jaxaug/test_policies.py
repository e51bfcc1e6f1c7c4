"""Tests for rand_augment and trivial_augment."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxaug
from jaxaug._src import policies


def _images():
  rand = jax.random.uniform(jax.random.key(0), (16, 16, 3))
  return jnp.stack([jnp.full((16, 16, 3), 0.3), jnp.zeros((16, 16, 3)),
                    jnp.ones((16, 16, 3)), rand])


@pytest.mark.parametrize("wide", [False, True])
def test_every_branch_finite_in_range_on_degenerate_images(wide):
  images = _images()
  idx = jnp.arange(policies.NUM_OPS)

  def run(i, img, level, sign):
    return policies.apply_op(img, i, level, sign=sign, wide=wide)

  # All (op, image, level, sign) combinations in one compiled call.
  f = jax.jit(jax.vmap(jax.vmap(jax.vmap(
      run, (None, 0, None, None)), (0, None, None, None)),
                       (None, None, 0, 0)))
  levels = jnp.array([0.0, 1.0, 1.0])
  signs = jnp.array([1.0, 1.0, -1.0])
  out = np.asarray(f(idx, images, levels, signs))
  assert out.shape == (3, policies.NUM_OPS, 4, 16, 16, 3)
  assert out.dtype == np.float32
  assert np.all(np.isfinite(out))
  assert out.min() >= 0.0 and out.max() <= 1.0
  # Identity branch is exact; every op changes the random image at full
  # magnitude; level 0 leaves enhancement/geometric ops unchanged.
  np.testing.assert_array_equal(out[:, 0], np.broadcast_to(images, out[:,
                                                                       0].shape))
  rand = np.asarray(images[3])
  for op in range(1, policies.NUM_OPS):
    assert not np.allclose(out[1, op, 3], rand, atol=1e-4), \
        policies.OP_NAMES[op]
  for op in range(1, 10):
    np.testing.assert_allclose(out[0, op, 3], rand, atol=1e-5,
                               err_msg=policies.OP_NAMES[op])
  # Constant images: enhancement ops keep grey at 0.3 except brightness
  # (the BT.601 weights sum to 0.9999, hence the tolerance).
  np.testing.assert_allclose(out[1, 8, 0], 0.3, atol=1e-4)  # contrast
  np.testing.assert_allclose(out[1, 7, 0], 0.3, atol=1e-4)  # color
  np.testing.assert_allclose(out[2, 6, 0], 0.3 * (1 - (0.99 if wide else 0.9)),
                             atol=1e-6)  # brightness, negative sign


def test_geometric_directions_and_fill():
  # One compiled function for every case (compilation dominates the cost).
  f = jax.jit(lambda img, i, level, sign, fill: policies.apply_op(
      img, i, level, sign=sign, wide=True, fill=fill))
  img = jnp.zeros((9, 9, 1)).at[4, 4, 0].set(1.0)
  argmax = lambda out: np.unravel_index(np.argmax(out[..., 0]), (9, 9))
  # translate_x by +32 * (2/32) = 2 pixels moves content right.
  assert argmax(f(img, 3, 2 / 32, 1.0, 0.0)) == (4, 6)
  assert argmax(f(img, 4, 2 / 32, -1.0, 0.0)) == (2, 4)
  # Rotation by 135 * (90/135) = 90 degrees equals rot90.
  ramp = jnp.arange(81.0).reshape(9, 9, 1) / 81
  np.testing.assert_allclose(f(ramp, 5, 90 / 135, 1.0, 0.0),
                             jaxaug.rot90(ramp), atol=1e-5)
  # Shear y moves columns right of the centre down for a positive sign.
  sheared = f(img.at[4, 8, 0].set(1.0), 2, 1 / 0.99 * 0.25, 1.0, 0.0)
  assert sheared[5, 8, 0] > 0.99 and sheared[4, 4, 0] > 0.99
  # Uncovered pixels take the fill value.
  np.testing.assert_allclose(f(img * 0, 3, 1.0, 1.0, 0.5), 0.5)


def test_rand_augment_eager_jit_vmap_and_keys():
  img = _images()[3]
  k1, k2 = jax.random.key(1), jax.random.key(2)
  # Eager == jit is checked on trivial_augment (same op machinery); here
  # jit == vmap, to keep compilation time down.
  jitted = jax.jit(functools.partial(jaxaug.rand_augment, num_ops=2,
                                     magnitude=9.0))
  eager = jitted(k1, img)
  # vmap over keys and a traced per-example magnitude.
  keys = jax.random.split(jax.random.key(3), 16)
  mags = jnp.linspace(0.0, 30.0, 16)
  vm = jax.jit(jax.vmap(lambda k, m: jaxaug.rand_augment(
      k, img, num_ops=2, magnitude=m)))
  out = vm(jnp.concatenate([k1[None], keys[1:]]),
           mags.at[0].set(9.0))
  np.testing.assert_allclose(out[0], eager, atol=1e-6)
  assert out.shape == (16, 16, 16, 3) and out.dtype == jnp.float32
  assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
  # Different keys give different images (most of the time).
  n_distinct = len({np.asarray(o).round(5).tobytes() for o in out})
  assert n_distinct >= 12
  np.testing.assert_array_equal(jitted(k1, img), jitted(k1, img))
  assert not np.array_equal(jitted(k1, img), jitted(k2, img))
  # num_ops = 0 is the identity.
  np.testing.assert_array_equal(
      jaxaug.rand_augment(k1, img, num_ops=0), img)


def test_trivial_augment_eager_jit_vmap_and_keys():
  img = _images()[3]
  k1 = jax.random.key(4)
  eager = jaxaug.trivial_augment(k1, img)
  keys = jnp.concatenate([k1[None], jax.random.split(k1, 31)])
  out = jax.jit(jax.vmap(jaxaug.trivial_augment, (0, None)))(keys, img)
  np.testing.assert_allclose(out[0], eager, atol=1e-6)
  assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
  changed = np.mean([not np.allclose(o, img) for o in np.asarray(out)])
  assert changed > 0.6  # identity and level-0 draws are the minority
  assert len({np.asarray(o).round(5).tobytes() for o in out}) >= 20
  # A single-channel image works (color op is the identity there).
  grey = jaxaug.trivial_augment(k1, img[..., :1])
  assert grey.shape == (16, 16, 1)


def test_bad_arguments_name_the_argument():
  img = _images()[3]
  k = jax.random.key(0)
  with pytest.raises(ValueError, match="num_ops"):
    jaxaug.rand_augment(k, img, num_ops=-1)
  with pytest.raises(ValueError, match="num_ops"):
    jaxaug.rand_augment(k, img, num_ops=1.5)
  with pytest.raises(ValueError, match="magnitude"):
    jaxaug.rand_augment(k, img, magnitude=31.0)
  with pytest.raises(ValueError, match="num_magnitude_bins"):
    jaxaug.trivial_augment(k, img, num_magnitude_bins=1)
  with pytest.raises(ValueError, match="fill"):
    jaxaug.trivial_augment(k, img, fill=2.0)
  with pytest.raises(ValueError, match="channels"):
    jaxaug.trivial_augment(k, jnp.zeros((8, 8, 2)))
  with pytest.raises(TypeError, match="image"):
    jaxaug.rand_augment(k, jnp.zeros((8, 8, 3), jnp.uint8))
  with pytest.raises(TypeError, match="key"):
    jaxaug.rand_augment(0, img)


def test_rand_augment_magnitude_forms():
  # Any real scalar gives the same result as the float; a Fraction too.
  import fractions  # pylint: disable=import-outside-toplevel
  k = jax.random.key(5)
  img = jax.random.uniform(jax.random.key(6), (12, 12, 3))
  want = jaxaug.rand_augment(k, img, magnitude=9.0)
  for m in (9, np.float32(9), np.int64(9), np.array(9.), jnp.float32(9),
            fractions.Fraction(9)):
    np.testing.assert_array_equal(jaxaug.rand_augment(k, img, magnitude=m),
                                  want)
  # A traced bool is refused naming its dtype, not the tracer.
  with pytest.raises(TypeError, match="magnitude.*dtype bool"):
    jax.jit(lambda m: jaxaug.rand_augment(k, img, magnitude=m))(True)
