"""Tests for random field warp/colour augmentations and their settings."""

import colorsys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage as ndi

import jaxaug
from jaxaug._src import field_augment as fa

H, W = 12, 16


def _image(seed=0, shape=(H, W, 3)):
  return jax.random.uniform(jax.random.key(seed), shape, jnp.float32)


def _scipy_affine(img, phi, s, h, t):
  r = np.array([[np.cos(phi), np.sin(phi)], [-np.sin(phi), np.cos(phi)]])
  a = r @ np.diag([np.exp(s)] * 2) @ np.array([[1.0, 0.0], [h, 1.0]])
  c = np.array([(img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2])
  off = c - a @ c + np.asarray(t)
  return np.stack([ndi.affine_transform(np.asarray(img[..., i], np.float64), a,
                                        offset=off, order=1, mode="reflect")
                   for i in range(img.shape[-1])], -1)


def test_zero_magnitudes_are_exact_identity():
  img = _image()
  key = jax.random.key(1)
  assert jnp.array_equal(fa.random_field_warp(key, img), img)
  assert jnp.array_equal(fa.random_field_color(key, img), img)
  # Traced zeros go through the full computation and must still be exact.
  warp = jax.jit(lambda k, m: fa.random_field_warp(
      k, img, rotation=m, scale=m, shear=m, translation=m))
  assert jnp.array_equal(warp(key, 0.0), img)
  color = jax.jit(lambda k, m: fa.random_field_color(
      k, img, hue=m, saturation=m, brightness=m, contrast=m))
  assert jnp.array_equal(color(key, 0.0), img)


def test_constant_fields_match_scipy_affine():
  img = _image(2)
  phi, s, h, t = 0.3, 0.15, 0.2, (1.5, -2.0)
  out = fa.field_warp(img, rotation=phi, scale=s, shear=h, translation=t)
  np.testing.assert_allclose(out, _scipy_affine(img, phi, s, h, t), atol=1e-5)
  if "NotImplementedError" not in open(jaxaug.rotate.__code__.co_filename).read():
    # The global rotation (same centre, counter-clockwise) agrees.
    np.testing.assert_allclose(fa.field_warp(img, rotation=phi),
                               _scipy_affine(img, phi, 0, 0, (0, 0)),
                               atol=1e-5)


def test_huge_length_scale_gives_global_transform():
  img = _image(3)
  key = jax.random.key(4)
  kw = dict(rotation=0.3, scale=0.1, shear=0.1, translation=2.0)
  out = fa.random_field_warp(key, img, length_scale=1e5, **kw)
  f = fa.sample_warp_fields(key, (H, W), length_scale=1e5, **kw)
  for name in ("rotation", "scale", "shear"):
    assert float(jnp.ptp(f[name])) < 1e-3  # near-constant fields
  t = np.asarray(f["translation"].mean(axis=(1, 2)))
  ref = _scipy_affine(img, float(f["rotation"].mean()),
                      float(f["scale"].mean()), float(f["shear"].mean()), t)
  np.testing.assert_allclose(out, ref, atol=2e-3)
  assert not np.allclose(out, img, atol=1e-2)


def test_warp_jit_vmap_keys_range_and_gradients():
  img = _image(5)
  fn = lambda k, m, l: fa.random_field_warp(k, img, rotation=m, scale=m,
                                            translation=2 * m, length_scale=l)
  key = jax.random.key(6)
  # jax.Array length scales plan the grid like traced ones (eager == jit).
  eager = fn(key, 0.2, jnp.asarray(4.0))
  assert eager.shape == img.shape and eager.dtype == img.dtype
  assert float(eager.min()) >= 0.0 and float(eager.max()) <= 1.0
  np.testing.assert_allclose(jax.jit(fn)(key, 0.2, jnp.asarray(4.0)), eager,
                             atol=1e-5)
  keys = jax.random.split(key, 2)
  v = jax.vmap(fn)(keys, jnp.asarray([0.2, 0.0]), jnp.asarray([4.0, 3.0]))
  np.testing.assert_allclose(v[0], fn(keys[0], 0.2, jnp.asarray(4.0)),
                             atol=1e-5)
  np.testing.assert_allclose(v[1], img, atol=0)
  assert not np.allclose(fn(keys[1], 0.2, 4.0), v[0])
  g = jax.grad(lambda m, x: jnp.sum(fa.random_field_warp(
      key, x, rotation=m, shear=m) ** 2), argnums=(0, 1))(0.1, img)
  assert np.isfinite(g[0]) and np.all(np.isfinite(g[1]))
  g0 = jax.grad(lambda m: jnp.sum(fa.random_field_warp(key, img, rotation=m)))(
      0.0)
  assert np.isfinite(g0)


def _np_hsv_apply(img, fn):
  out = np.empty_like(img)
  for i in range(img.shape[0]):
    for j in range(img.shape[1]):
      out[i, j] = colorsys.hsv_to_rgb(*fn(*colorsys.rgb_to_hsv(*img[i, j])))
  return out


def test_constant_color_fields_match_global_references():
  img = np.asarray(_image(7), np.float64)
  b, k, s, h = 0.2, -0.3, 0.4, 0.1
  np.testing.assert_allclose(fa.field_color(img, brightness=b),
                             np.clip(img * np.exp(b), 0, 1), atol=1e-5)
  mean = img.mean(axis=(0, 1), keepdims=True)
  np.testing.assert_allclose(fa.field_color(img, contrast=k),
                             np.clip(mean + np.exp(k) * (img - mean), 0, 1),
                             atol=1e-5)
  np.testing.assert_allclose(
      fa.field_color(img, saturation=s),
      _np_hsv_apply(img, lambda hh, ss, vv: (hh, min(ss * np.exp(s), 1), vv)),
      atol=1e-5)
  np.testing.assert_allclose(
      fa.field_color(img, hue=h),
      _np_hsv_apply(img, lambda hh, ss, vv: ((hh + h) % 1.0, ss, vv)),
      atol=1e-5)
  # Random fields with a huge length scale act as the constant transform.
  key = jax.random.key(8)
  kw = dict(hue=0.1, saturation=0.3, brightness=0.2, contrast=0.2)
  f = fa.sample_color_fields(key, (H, W), length_scale=1e5, **kw)
  out = fa.random_field_color(key, jnp.asarray(img, jnp.float32),
                              length_scale=1e5, **kw)
  ref = fa.field_color(img, **{n: float(v.mean()) for n, v in f.items()})
  np.testing.assert_allclose(out, ref, atol=2e-3)


def test_color_jit_vmap_range_and_gradients():
  img = _image(9)
  fn = lambda k, m: fa.random_field_color(k, img, hue=m, saturation=m,
                                          brightness=m, contrast=m,
                                          length_scale=3.0)
  key = jax.random.key(10)
  eager = fn(key, 0.3)
  assert eager.shape == img.shape and eager.dtype == img.dtype
  assert float(eager.min()) >= 0.0 and float(eager.max()) <= 1.0
  assert not np.allclose(eager, img, atol=1e-2)
  np.testing.assert_allclose(jax.jit(fn)(key, 0.3), eager, atol=1e-5)
  v = jax.vmap(fn)(jax.random.split(key, 2), jnp.asarray([0.3, 0.3]))
  np.testing.assert_allclose(v[0], fn(jax.random.split(key, 2)[0], 0.3),
                             atol=1e-5)
  g = jax.grad(lambda m: jnp.sum(fn(key, m)))(0.3)
  assert np.isfinite(g)


@pytest.mark.parametrize("name", ["brightness", "contrast", "saturation"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.bfloat16])
def test_color_huge_magnitudes_stay_finite(name, dtype):
  # A log-factor field of std 1e9 (or 1e30) overflows exp: the factors are
  # bounded so that the blends never compute inf * 0 = NaN. Uniform and
  # constant images (a pixel equal to its channel mean, or 0).
  key = jax.random.key(3)
  for img in (_image(4), jnp.full((H, W, 3), 0.5), jnp.zeros((H, W, 3))):
    img = img.astype(dtype)
    for m in (1e9, 1e30):
      out = fa.random_field_color(key, img, length_scale=3.0, **{name: m})
      assert out.dtype == dtype
      out = np.asarray(out, np.float32)
      assert np.all(np.isfinite(out)), (name, m)
      assert out.min() >= 0.0 and out.max() <= 1.0
  g = jax.grad(lambda m: jnp.sum(fa.random_field_color(
      key, _image(4), length_scale=3.0, **{name: m})))(1e9)
  assert np.isfinite(g)


@pytest.mark.parametrize("setting", ["mild", "strong"])
def test_settings_builder(setting):
  img = _image(11, (16, 16, 3))
  aug = jax.jit(fa.field_augmentation(setting))
  out = aug(jax.random.key(0), img)
  assert out.shape == img.shape and out.dtype == img.dtype
  assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
  assert not np.allclose(out, img, atol=1e-3)


def test_settings_order_and_errors():
  mild, strong = fa.SETTINGS["mild"], fa.SETTINGS["strong"]
  assert all(mild[n] < strong[n] for n in mild
             if n != "length_scale_fraction")
  with pytest.raises(ValueError, match="setting"):
    fa.field_augmentation("extreme")
  with pytest.raises(ValueError, match="override"):
    fa.field_augmentation("mild", rotaton=0.1)
  img = _image()
  with pytest.raises(ValueError, match="rotation"):
    fa.random_field_warp(jax.random.key(0), img, rotation=-0.1)
  with pytest.raises(ValueError, match="length_scale"):
    fa.random_field_warp(jax.random.key(0), img, rotation=0.1, length_scale=0.)
  with pytest.raises(ValueError, match="channels"):
    fa.random_field_color(jax.random.key(0), _image(0, (8, 8, 2)), hue=0.1)
  with pytest.raises(ValueError, match="mode"):
    fa.random_field_warp(jax.random.key(0), img, rotation=0.1, mode="bogus")

