"""Tests for cutout and random_erasing."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxaug._src import erasing


def _image(key=0, shape=(12, 10, 3)):
  return jax.random.uniform(jax.random.key(key), shape)


def test_cutout_matches_numpy_and_ignores_out_of_image_parts():
  img = _image()
  for box in [(2, 3, 4, 5), (-3, 7, 6, 9), (0, 0, 0, 4), (5, 5, 0, 0),
              (0, 0, 12, 10)]:
    out = erasing.cutout(img, box, value=0.25)
    ref = np.asarray(img).copy()
    t, l, h, w = box
    ref[max(t, 0):max(t + h, 0), max(l, 0):max(l + w, 0)] = 0.25
    np.testing.assert_array_equal(out, ref)
    assert out.dtype == img.dtype


def test_cutout_per_channel_value_channel_axis_and_bad_box():
  img = _image(shape=(6, 6, 3))
  out = erasing.cutout(img, jnp.array([1, 1, 2, 2]),
                       value=jnp.array([0.1, 0.2, 0.3]))
  np.testing.assert_allclose(out[1, 2], [0.1, 0.2, 0.3])
  chw = erasing.cutout(jnp.moveaxis(img, -1, 0), (1, 1, 2, 2),
                       value=jnp.array([0.1, 0.2, 0.3]), channel_axis=0)
  np.testing.assert_array_equal(jnp.moveaxis(chw, 0, -1), out)
  with pytest.raises(ValueError, match="box"):
    erasing.cutout(img, (1, 2, 3))
  with pytest.raises(ValueError, match="value"):
    erasing.cutout(img, (1, 1, 2, 2), value=jnp.zeros(2))
  with pytest.raises(ValueError, match="image"):
    erasing.cutout(img[0], (1, 1, 2, 2))


def test_cutout_traced_box_jit_vmap_and_gradient():
  imgs = jax.vmap(_image)(jnp.arange(3)).squeeze() if False else jnp.stack(
      [_image(i) for i in range(3)])
  boxes = jnp.array([[0, 0, 3, 3], [2, 1, 4, 2], [5, 5, 0, 2]], jnp.float32)
  eager = jnp.stack([erasing.cutout(x, b) for x, b in zip(imgs, boxes)])
  vm = jax.jit(jax.vmap(erasing.cutout))(imgs, boxes)
  np.testing.assert_array_equal(eager, vm)
  grad = jax.grad(lambda x: erasing.cutout(x, boxes[1]).sum())(imgs[1])
  assert np.all(np.isfinite(grad))
  # Gradient is 1 outside the box and 0 inside.
  np.testing.assert_array_equal(grad[:, :, 0], 1.0 - (np.asarray(vm[1]) !=
                                                      np.asarray(imgs[1]))
                                [:, :, 0])


def _erase_fraction(out, img):
  return np.mean(np.any(np.asarray(out) != np.asarray(img), axis=-1),
                 axis=(-2, -1))


def test_random_erasing_area_distribution_within_range():
  img = jnp.full((32, 32, 3), 0.5)
  area = (0.05, 0.3)
  keys = jax.random.split(jax.random.key(0), 2000)
  fn = jax.jit(jax.vmap(functools.partial(
      erasing.random_erasing, image=img, probability=1.0, area=area,
      aspect_ratio=(0.3, 3.3), value=1.0)))
  out = fn(keys)
  frac = _erase_fraction(out, img)
  assert np.all(np.isin(np.asarray(out), [0.5, 1.0]))
  erased = frac[frac > 0]
  assert len(erased) > 0.97 * len(frac)  # almost always finds a box
  assert erased.min() >= area[0] and erased.max() <= area[1]
  # Covers the range, roughly uniform: mean near the middle.
  assert erased.min() < 0.07 and erased.max() > 0.27
  assert abs(erased.mean() - 0.175) < 0.015
  # Boxes are rectangles: erased pixel count = rows * cols touched.
  o = np.asarray(out[:50, ..., 0]) != 0.5
  rows, cols = o.any(2).sum(1), o.any(1).sum(1)
  np.testing.assert_array_equal(o.sum((1, 2)), rows * cols)


def test_random_erasing_probability_keys_and_parity():
  img = _image(shape=(16, 16, 3))
  keys = jax.random.split(jax.random.key(1), 400)
  fn = jax.vmap(functools.partial(erasing.random_erasing, image=img,
                                  probability=0.3))
  frac = _erase_fraction(jax.jit(fn)(keys), img)
  rate = np.mean(frac > 0)
  assert 0.22 < rate < 0.38
  k = jax.random.key(5)
  a = erasing.random_erasing(k, img, probability=1.0, value="random")
  b = jax.jit(functools.partial(erasing.random_erasing, probability=1.0,
                                value="random"))(k, img)
  np.testing.assert_allclose(a, b, atol=1e-6)
  assert a.shape == img.shape and a.dtype == img.dtype
  assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
  c = erasing.random_erasing(jax.random.key(6), img, probability=1.0,
                             value="random")
  assert not np.array_equal(a, c)
  # probability 0 is the identity, and a traced probability works.
  same = jax.jit(erasing.random_erasing)(k, img, probability=0.0)
  np.testing.assert_array_equal(same, img)


def test_random_erasing_bad_arguments():
  img = _image()
  k = jax.random.key(0)
  with pytest.raises(ValueError, match="probability"):
    erasing.random_erasing(k, img, probability=1.5)
  with pytest.raises(ValueError, match="area"):
    erasing.random_erasing(k, img, area=(0.5, 0.1))
  with pytest.raises(ValueError, match="aspect_ratio"):
    erasing.random_erasing(k, img, aspect_ratio=(0.0, 2.0))
  with pytest.raises(ValueError, match="value"):
    erasing.random_erasing(k, img, value="noise")
  with pytest.raises(TypeError, match="key"):
    erasing.random_erasing(0, img)
