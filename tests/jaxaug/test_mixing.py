"""Tests for mixup, cutmix and resizemix."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxaug._src import mixing

B, H, W, C, K = 6, 12, 10, 3, 6


def _batch():
  # Each example a distinct constant, so mixtures are easy to read back.
  vals = jnp.linspace(0.0, 1.0, B)
  images = jnp.broadcast_to(vals[:, None, None, None], (B, H, W, C))
  return images, jnp.arange(B)


def _partner(labels_row, i):
  """Index of the partner from a mixed one-hot row (None if self)."""
  others = [j for j in np.flatnonzero(labels_row > 1e-6) if j != i]
  return others[0] if others else None


def test_mixup_labels_use_the_image_lambda():
  images, labels = _batch()
  for seed in range(4):
    x, y = jax.jit(functools.partial(mixing.mixup, alpha=0.7,
                                     num_classes=K))(
        jax.random.key(seed), images, labels)
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-6)
    for i in range(B):
      j = _partner(y[i], i)
      if j is None:
        np.testing.assert_allclose(x[i], images[i], atol=1e-6)
        continue
      # x_i = lam v_i + (1 - lam) v_j  =>  lam = (x_i - v_j) / (v_i - v_j)
      vi, vj = float(images[i, 0, 0, 0]), float(images[j, 0, 0, 0])
      lam = (x[i] - vj) / (vi - vj)
      assert np.ptp(lam) < 1e-5  # one lambda for every pixel
      np.testing.assert_allclose(y[i, i], lam.mean(), atol=1e-5)
      np.testing.assert_allclose(y[i, j], 1 - lam.mean(), atol=1e-5)


def test_cutmix_label_weight_equals_pasted_pixel_fraction():
  images, labels = _batch()
  onehot = jax.nn.one_hot(labels, K)
  seen_partial = False
  for seed in range(8):
    x, y = jax.jit(mixing.cutmix)(jax.random.key(seed), images, onehot)
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-6)
    for i in range(B):
      own = np.mean(np.all(x[i] == np.asarray(images[i]), axis=-1))
      j = _partner(y[i], i)
      if j is None:
        continue
      np.testing.assert_allclose(y[i, i], own, atol=1e-6)
      np.testing.assert_allclose(y[i, j], 1 - own, atol=1e-6)
      seen_partial |= 0 < own < 1
  assert seen_partial


def test_resizemix_label_weight_and_pasted_content():
  images, labels = _batch()
  for seed in range(4):
    x, y = jax.jit(functools.partial(mixing.resizemix, scale=(0.2, 0.7),
                                     num_classes=K))(
        jax.random.key(seed), images, labels)
    x, y = np.asarray(x), np.asarray(y)
    np.testing.assert_allclose(y.sum(1), 1.0, atol=1e-6)
    for i in range(B):
      j = _partner(y[i], i)
      if j is None:
        continue
      pasted = np.isclose(x[i], float(images[j, 0, 0, 0]), atol=1e-6)
      own = np.isclose(x[i], float(images[i, 0, 0, 0]), atol=1e-6)
      assert np.all(pasted | own)  # constant partner -> constant patch
      frac = pasted[..., 0].mean()
      np.testing.assert_allclose(y[i, j], frac, atol=1e-6)
      assert 0.2**2 - 0.02 <= frac <= 0.7**2 + 0.02


def test_resizemix_pastes_a_downscaled_copy():
  img = jax.random.uniform(jax.random.key(0), (2, 16, 16, 1))
  fn = jax.jit(functools.partial(mixing.resizemix, scale=(0.5, 0.5)))
  for seed in range(20):  # find a key whose permutation swaps the pair
    x, y = fn(jax.random.key(seed), img, jnp.eye(2))
    x, y = np.asarray(x), np.asarray(y)
    if y[0, 1] > 0:
      break
  i, j = 0, 1
  assert y[i, j] == pytest.approx(0.25)
  changed = x[i, ..., 0] != np.asarray(img[i, ..., 0])
  r, c = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
  patch = x[i, r[0]:r[0] + 8, c[0]:c[0] + 8]
  ref = jax.image.resize(img[j], (8, 8, 1), "linear", antialias=True)
  np.testing.assert_allclose(patch, ref, atol=1e-5)


@pytest.mark.parametrize("op", [mixing.mixup, mixing.cutmix,
                                mixing.resizemix])
def test_eager_jit_vmap_keys_and_range(op):
  images = jax.random.uniform(jax.random.key(9), (4, 8, 8, 3))
  labels = jnp.array([0, 1, 2, 1])
  fn = functools.partial(op, labels=labels, num_classes=3)
  k1, k2 = jax.random.key(1), jax.random.key(2)
  x1, y1 = fn(k1, images)
  xj, yj = jax.jit(fn)(k1, images)
  np.testing.assert_allclose(x1, xj, atol=1e-6)
  np.testing.assert_allclose(y1, yj, atol=1e-6)
  # vmap over several independent batches.
  xv, yv = jax.vmap(fn, in_axes=(0, None))(jnp.stack([k1, k2]), images)
  np.testing.assert_allclose(xv[0], x1, atol=1e-6)
  np.testing.assert_allclose(yv[0], y1, atol=1e-6)
  assert not np.array_equal(xv[0], xv[1])
  x1b, _ = fn(k1, images)
  np.testing.assert_array_equal(x1, x1b)
  assert x1.shape == images.shape and x1.dtype == images.dtype
  assert y1.shape == (4, 3) and y1.dtype == jnp.float32
  assert float(x1.min()) >= 0 and float(x1.max()) <= 1
  grad = jax.grad(lambda im: fn(k1, im)[0].sum())(images)
  assert np.all(np.isfinite(grad))


def test_bad_inputs_name_the_argument():
  images = jnp.zeros((4, 8, 8, 3))
  k = jax.random.key(0)
  for op in (mixing.mixup, mixing.cutmix):
    with pytest.raises(ValueError, match="alpha"):
      op(k, images, jnp.arange(4), alpha=0.0, num_classes=4)
    with pytest.raises(ValueError, match="alpha"):
      op(k, images, jnp.arange(4), alpha=-1.0, num_classes=4)
  for op in (mixing.mixup, mixing.cutmix, mixing.resizemix):
    with pytest.raises(ValueError, match="num_classes"):
      op(k, images, jnp.arange(4))
    with pytest.raises(ValueError, match="labels"):
      op(k, images, jnp.arange(3), num_classes=4)
    with pytest.raises(ValueError, match="labels"):
      op(k, images, jnp.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="labels"):
      op(k, images, jnp.zeros((5, 4)))
    with pytest.raises(ValueError, match="num_classes"):
      op(k, images, jnp.zeros((4, 4)), num_classes=3)
    with pytest.raises(ValueError, match="images"):
      op(k, images[0], jnp.arange(4), num_classes=4)
  with pytest.raises(ValueError, match="scale"):
    mixing.resizemix(k, images, jnp.arange(4), scale=(0.1, 1.5),
                     num_classes=4)


@pytest.mark.parametrize("fn", [mixing.mixup, mixing.cutmix,
                                mixing.resizemix])
@pytest.mark.parametrize("bad", [[0, 5], [-1, 0], [0, 3]])
def test_out_of_range_integer_labels_raise(fn, bad):
  # Regression: a label >= num_classes (or negative) gave a zero label row.
  key = jax.random.key(0)
  imgs = jnp.full((2, 8, 8, 3), 0.5)
  with pytest.raises(ValueError, match="labels"):
    fn(key, imgs, jnp.array(bad), num_classes=3)
  # In range (the edges included): rows sum to 1.
  _, y = fn(key, imgs, jnp.array([0, 2]), num_classes=3)
  np.testing.assert_allclose(np.asarray(y).sum(-1), 1.0, rtol=1e-6)
  # Traced labels are not checked.
  _, y = jax.jit(lambda l: fn(key, imgs, l, num_classes=3))(jnp.array([0, 2]))
  assert y.shape == (2, 3)
