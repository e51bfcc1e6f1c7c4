"""Tests for jaxaug.gaussian_blur: references scipy.ndimage and dm_pix."""

import dm_pix
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

import jaxaug


def _image(seed=0, shape=(12, 10, 3)):
  return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def _scipy_blur(x, sigma_y, sigma_x, kernel_size):
  """scipy reference: truncate chosen so that the radius is kernel_size // 2."""
  r = kernel_size // 2
  out = x.astype(np.float64)
  for axis, s in ((0, sigma_y), (1, sigma_x)):
    out = ndimage.gaussian_filter1d(out, s, axis=axis, mode="reflect",
                                    truncate=(r + 0.25) / s)
  return out


@pytest.mark.parametrize("shape,sigma,kernel_size", [
    ((12, 10, 3), 1.3, 7),
    ((12, 10, 3), (0.6, 2.2), 9),   # anisotropic
    ((8, 8, 1), 3.0, 23),           # radius larger than the image
    ((16, 16, 2), 0.1, 5),          # tiny sigma
])
def test_matches_scipy_reflect(shape, sigma, kernel_size):
  x = _image(1, shape)
  sy, sx = np.broadcast_to(sigma, (2,))
  ref = _scipy_blur(x, sy, sx, kernel_size)
  out = jaxaug.gaussian_blur(x, jnp.asarray(sigma), kernel_size=kernel_size)
  np.testing.assert_allclose(out, ref, atol=1e-6)
  if sy == sx:  # the isotropic scipy call agrees too
    ref2 = ndimage.gaussian_filter(x.astype(np.float64), (sy, sx, 0),
                                   mode="reflect",
                                   truncate=(kernel_size // 2 + 0.25) / sy)
    np.testing.assert_allclose(out, ref2, atol=1e-6)


def test_matches_dm_pix_away_from_border():
  # dm_pix pads with zeros ("SAME" convolution): compare the interior only.
  x = _image(2, (20, 20, 3))
  k, r = 7, 3
  out = jaxaug.gaussian_blur(x, 1.7, kernel_size=k)
  ref = dm_pix.gaussian_blur(jnp.asarray(x), 1.7, k)
  np.testing.assert_allclose(out[r:-r, r:-r], ref[r:-r, r:-r], atol=1e-5)
  assert not np.allclose(out[0, 0], ref[0, 0], atol=1e-3)  # the border differs


def test_sigma_zero_and_kernel_one_are_exact_identity():
  x = jnp.asarray(_image())
  np.testing.assert_array_equal(jaxaug.gaussian_blur(x, 0., kernel_size=9), x)
  np.testing.assert_array_equal(
      jaxaug.gaussian_blur(x, (0., 0.), kernel_size=5), x)
  np.testing.assert_array_equal(jaxaug.gaussian_blur(x, 2., kernel_size=1), x)
  # Only one axis blurred when the other sigma is 0.
  out = jaxaug.gaussian_blur(x, (0., 1.5), kernel_size=5)
  ref = ndimage.gaussian_filter1d(np.asarray(x, np.float64), 1.5, axis=1,
                                  mode="reflect", truncate=2.25 / 1.5)
  np.testing.assert_allclose(out, ref, atol=1e-6)


def test_constant_image_unchanged_and_kernel_normalised():
  for value in (0., 0.37, 1.):
    x = jnp.full((9, 9, 3), value, jnp.float32)
    out = jaxaug.gaussian_blur(x, 1.2, kernel_size=7)
    np.testing.assert_allclose(out, value, atol=1e-6)


def test_eager_jit_vmap_with_per_example_sigma():
  images = jnp.asarray(_image(3, (4, 12, 10, 3)))
  sigmas = jnp.array([0., 0.5, 1.5, 3.0])
  fn = lambda im, s: jaxaug.gaussian_blur(im, s, kernel_size=7)
  eager = jnp.stack([fn(images[i], sigmas[i]) for i in range(4)])
  np.testing.assert_allclose(jax.jit(jax.vmap(fn))(images, sigmas), eager,
                             atol=1e-6)
  np.testing.assert_allclose(jax.jit(fn)(images[2], sigmas[2]), eager[2],
                             atol=1e-6)
  np.testing.assert_array_equal(eager[0], images[0])
  # Per-example (sigma_y, sigma_x) pairs under vmap as well.
  pairs = jnp.stack([sigmas, sigmas[::-1]], axis=1)
  out = jax.vmap(fn)(images, pairs)
  np.testing.assert_allclose(
      out[1], _scipy_blur(np.asarray(images[1]), 0.5, 1.5, 7), atol=1e-6)


def test_gradients_finite_including_sigma_zero():
  x = jnp.asarray(_image())
  loss = lambda im, s: jnp.sum(jnp.sin(3 * jaxaug.gaussian_blur(
      im, s, kernel_size=5)))
  grad = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1))))
  images = jnp.stack([x, jnp.zeros_like(x), jnp.ones_like(x), x])
  sigmas = jnp.array([0., 0.5, 2.0, 1e-6])
  gx, gs = grad(images, sigmas)
  assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gs))
  # At sigma = 0 the op is the identity: d loss / d image = 3 cos(3 x).
  np.testing.assert_allclose(gx[0], 3 * np.cos(3 * np.asarray(x)),
                             rtol=1e-5, atol=1e-6)
  # The sigma gradient matches a finite difference away from 0.
  s0, eps = 1.2, 1e-2
  fd = (loss(x, s0 + eps) - loss(x, s0 - eps)) / (2 * eps)
  np.testing.assert_allclose(jax.grad(loss, argnums=1)(x, s0), fd, rtol=2e-2)


def test_random_gaussian_blur_keys_and_range():
  x = jnp.asarray(_image())
  fn = lambda k, im: jaxaug.random_gaussian_blur(k, im, sigma=(0.1, 2.0),
                                                 kernel_size=5)
  keys = jax.random.split(jax.random.key(0), 6)
  outs = jax.jit(jax.vmap(fn, in_axes=(0, None)))(keys, x)
  np.testing.assert_allclose(outs[2], fn(keys[2], x), atol=1e-6)
  np.testing.assert_array_equal(fn(keys[2], x), fn(keys[2], x))
  assert len({np.asarray(o).tobytes() for o in outs}) == 6
  # Every output is a blur with some sigma in [0.1, 2.0]: it lies between
  # the weakest and the strongest blur in smoothness.
  rough = lambda im: float(jnp.mean(jnp.abs(jnp.diff(im, axis=0))))
  lo = rough(jaxaug.gaussian_blur(x, 2.0, kernel_size=5))
  hi = rough(jaxaug.gaussian_blur(x, 0.1, kernel_size=5))
  assert all(lo - 1e-6 <= rough(o) <= hi + 1e-6 for o in outs)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_dtype_shape_range(dtype):
  x = jnp.asarray(_image(), dtype)
  out = jaxaug.gaussian_blur(x, 1.0, kernel_size=5)
  assert out.shape == x.shape and out.dtype == dtype
  r = jaxaug.random_gaussian_blur(jax.random.key(1), x, kernel_size=3)
  assert r.shape == x.shape and r.dtype == dtype
  for o in (out, r):
    o = np.asarray(o.astype(jnp.float32))
    assert np.all((o >= 0) & (o <= 1))


def test_default_kernel_size_is_simclr_ten_percent():
  x = jnp.asarray(_image(4, (40, 44, 1)))  # 10% of 40 = 4 -> 5 taps
  np.testing.assert_array_equal(jaxaug.gaussian_blur(x, 1.0),
                                jaxaug.gaussian_blur(x, 1.0, kernel_size=5))


def test_channel_axis():
  x = jnp.asarray(_image())
  out = jaxaug.gaussian_blur(jnp.moveaxis(x, -1, 0), 1.0, kernel_size=5,
                             channel_axis=0)
  np.testing.assert_allclose(
      out, jnp.moveaxis(jaxaug.gaussian_blur(x, 1.0, kernel_size=5), -1, 0),
      atol=1e-7)


def test_bad_inputs_name_the_argument():
  x = jnp.asarray(_image())
  with pytest.raises(ValueError, match="kernel_size"):
    jaxaug.gaussian_blur(x, 1.0, kernel_size=4)
  with pytest.raises(ValueError, match="kernel_size"):
    jaxaug.gaussian_blur(x, 1.0, kernel_size=0)
  with pytest.raises(TypeError, match="kernel_size"):
    jaxaug.gaussian_blur(x, 1.0, kernel_size=5.0)
  with pytest.raises(ValueError, match="sigma"):
    jaxaug.gaussian_blur(x, -1.0, kernel_size=5)
  with pytest.raises(ValueError, match="sigma"):
    jaxaug.gaussian_blur(x, jnp.ones(3), kernel_size=5)
  with pytest.raises(TypeError, match="image.*floating"):
    jaxaug.gaussian_blur(jnp.zeros((8, 8, 3), jnp.int32), 1.0, kernel_size=3)
  with pytest.raises(ValueError, match="image.*rank"):
    jaxaug.gaussian_blur(x[0], 1.0, kernel_size=3)
  with pytest.raises(ValueError, match="sigma"):
    jaxaug.random_gaussian_blur(jax.random.key(0), x, sigma=(2.0, 1.0),
                                kernel_size=3)
  with pytest.raises(ValueError, match="sigma"):
    jaxaug.random_gaussian_blur(jax.random.key(0), x, sigma=(-1.0, 1.0),
                                kernel_size=3)
