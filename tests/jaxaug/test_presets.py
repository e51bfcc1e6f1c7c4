"""Tests for jaxaug.presets: simclr, simclr_cifar, two_views,
field_augmentation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxaug
from jaxaug import presets
from jaxaug._src import filters


def _images(b=3, h=20, w=18):
  return jax.random.uniform(jax.random.key(0), (b, h, w, 3))


def _distinct(x):
  x = np.asarray(x).reshape(-1, *x.shape[-3:])
  return len({v.round(5).tobytes() for v in x})


# Compiled once and shared between tests (compilation dominates the cost).
_CIFAR16 = presets.simclr_cifar(16)
_two_views = jax.jit(presets.two_views, static_argnames="aug")


@pytest.mark.parametrize("chunk_size", [1, 2, 3])
def test_two_views_in_chunks_equals_one_vmap(chunk_size):
  # Chunk j holds images j, j + 6 / chunk_size, ...: a mix-up of keys or
  # images between chunks would give other views, not a rounding difference.
  images = _images(b=6)
  key = jax.random.key(3)
  whole = jax.jit(functools.partial(presets.two_views, aug=_CIFAR16,
                                    chunk_size=None))(key, images)
  chunked = jax.jit(functools.partial(presets.two_views, aug=_CIFAR16,
                                      chunk_size=chunk_size))(key, images)
  for a, b in zip(whole, chunked):
    assert a.shape == b.shape == (6, 16, 16, 3)
    np.testing.assert_allclose(b, a, atol=1e-5)
  assert _distinct(jnp.concatenate(chunked)) == 12


def test_two_views_auto_chunks(monkeypatch):
  from jaxaug._src import utils as src
  # The suite runs on 8 fake devices: "auto" never chunks there.
  assert src.auto_chunk_size(jnp.zeros((32, 224, 224, 3)), 2) is None
  monkeypatch.setattr(jax, "device_count", lambda: 1)
  # 5 MiB of float32 views per chunk: 4 images of 224 x 224 x 3 (8 views).
  assert src.auto_chunk_size(jnp.zeros((32, 224, 224, 3)), 2) == 4
  # The largest divisor of the batch not above the target (4): 3 of 30.
  assert src.auto_chunk_size(jnp.zeros((30, 224, 224, 3)), 2) == 3
  # 64 x 64: 53 images per chunk at most -> 32 of 128 (4 chunks).
  assert src.auto_chunk_size(jnp.zeros((128, 64, 64, 3)), 2) == 32
  # A batch that fits in fewer than 4 chunks runs as one vmap.
  assert src.auto_chunk_size(jnp.zeros((256, 32, 32, 3)), 2) is None
  assert src.auto_chunk_size(jnp.zeros((12, 224, 224, 3)), 2) is None
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  assert src.auto_chunk_size(jnp.zeros((32, 224, 224, 3)), 2) is None


def test_batch_in_chunks_equals_one_vmap():
  images = _images(b=8)
  key = jax.random.key(4)
  whole = jax.jit(jaxaug.batch(_CIFAR16, chunk_size=None))(key, images)
  for size in (1, 2, 4, "auto"):
    chunked = jax.jit(jaxaug.batch(_CIFAR16, chunk_size=size))(key, images)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
  assert _distinct(whole) == 8
  with pytest.raises(ValueError, match="chunk_size=3 must divide"):
    jaxaug.batch(_CIFAR16, chunk_size=3)(key, images)
  with pytest.raises(ValueError, match="chunk_size must be"):
    jaxaug.batch(_CIFAR16, chunk_size=0)
  # A pytree output is stacked leaf by leaf, and raw uint32 keys work too.
  pair = jaxaug.batch(lambda k, x: (_CIFAR16(k, x), x.mean()),
                      chunk_size=2)(key, images)
  np.testing.assert_allclose(pair[0], whole, atol=1e-5)
  np.testing.assert_allclose(pair[1], images.mean(axis=(1, 2, 3)), rtol=1e-6)
  raw = jax.random.PRNGKey(4)
  for size in (None, 2):
    out = jaxaug.batch(_CIFAR16, chunk_size=size)(raw, images)
    assert out.shape == (8, 16, 16, 3)
    np.testing.assert_allclose(
        out, jaxaug.batch(_CIFAR16, chunk_size=None)(raw, images), atol=1e-5)
    v1, v2 = presets.two_views(raw, images, _CIFAR16, chunk_size=size)
    assert v1.shape == v2.shape == (8, 16, 16, 3)
    assert not np.allclose(v1, v2)
  # NumPy integers are ints too.
  np.testing.assert_allclose(
      jax.jit(jaxaug.batch(_CIFAR16, chunk_size=np.int64(4)))(key, images),
      whole, atol=1e-5)


@pytest.mark.parametrize("chunk_size", [0, -2, 4, 2.0, True, "all"])
def test_two_views_rejects_bad_chunk_size(chunk_size):
  with pytest.raises(ValueError, match="chunk_size"):
    presets.two_views(jax.random.key(0), _images(b=6), _CIFAR16,
                      chunk_size=chunk_size)


def test_simclr_cifar_two_views_shapes_keys_and_range():
  images = _images()
  aug = _CIFAR16
  f = functools.partial(_two_views, aug=aug)
  k1, k2 = jax.random.key(1), jax.random.key(2)
  v1, v2 = f(k1, images)
  assert v1.shape == v2.shape == (3, 16, 16, 3)
  assert v1.dtype == jnp.float32
  for v in (v1, v2):
    assert np.all(np.isfinite(v)) and v.min() >= 0 and v.max() <= 1
  # Independent keys for every view and example: all 6 views distinct.
  assert _distinct(jnp.concatenate([v1, v2])) == 6
  w1, w2 = f(k1, images)
  np.testing.assert_array_equal(v1, w1)
  np.testing.assert_array_equal(v2, w2)
  u1, _ = f(k2, images)
  assert not np.allclose(u1, v1)
  # two_views == augmenting each example with its own key, under jit.
  keys = jax.random.split(k1, 6).reshape(2, 3)
  single = jax.jit(aug)(keys[1, 2], images[2])
  np.testing.assert_allclose(single, v2[2], atol=1e-5)


def test_simclr_structure_blur_and_output_size():
  aug = presets.simclr((12, 10), strength=1.0)
  names = [n for n, _ in aug.ops]
  assert names == ["random_resized_crop", "random_flip_left_right",
                   "color_jitter", "random_grayscale", "random_gaussian_blur"]
  # SimCLR's kernel: 10% of the side, made odd.
  assert filters.simclr_kernel_size((224, 224)) == 23
  assert filters.simclr_kernel_size((32, 32)) == 3
  assert filters.simclr_kernel_size((12, 10)) == 1
  assert [n for n, _ in presets.simclr_cifar().ops] == names[:-1]
  images = _images(b=2)
  v1, v2 = jax.jit(functools.partial(presets.two_views, aug=aug))(
      jax.random.key(3), images)
  assert v1.shape == v2.shape == (2, 12, 10, 3)
  assert np.all(np.isfinite(v1)) and v1.min() >= 0 and v1.max() <= 1
  assert _distinct(jnp.concatenate([v1, v2])) == 4


def test_fixed_jitter_order_is_simclrs_nonrandom_jitter():
  s = 0.5
  fixed = dict(presets.simclr_cifar(8, strength=s, random_order=False).ops)
  shuffled = dict(presets.simclr_cifar(8, strength=s).ops)
  expected = jaxaug.with_probability(functools.partial(
      jaxaug.color_jitter, brightness=0.8 * s, contrast=0.8 * s,
      saturation=0.8 * s, hue=0.2 * s, random_order=False), 0.8)
  image = _images(b=1, h=8, w=8)[0]
  keys = jax.random.split(jax.random.key(5), 8)
  run = jax.jit(jax.vmap(lambda k: jnp.stack([
      fixed["color_jitter"](k, image), expected(k, image),
      shuffled["color_jitter"](k, image)])))
  out = np.asarray(run(keys))
  np.testing.assert_array_equal(out[:, 0], out[:, 1])
  # Some key draws an order other than b, c, s, h (and jitters at all).
  assert not np.allclose(out[:, 0], out[:, 2], atol=1e-4)


def test_random_field_slot_sits_after_the_crop():
  seen = []

  def probe(key, image):
    seen.append(image.shape)
    return 1.0 - image

  aug = presets.simclr(8, random_field=probe, blur=False)
  names = [n for n, _ in aug.ops]
  assert names.index("random_field") == 2
  assert names.index("random_resized_crop") < names.index("random_field")
  assert names.index("random_field") < names.index("color_jitter")
  out = jax.eval_shape(aug, jax.random.key(0), jnp.zeros((20, 18, 3)))
  assert out.shape == (8, 8, 3)
  # The field op receives the cropped (8, 8) image, not the input.
  assert seen and all(s == (8, 8, 3) for s in seen)


def test_simclr_with_mild_random_field_differs_and_stays_valid():
  images = _images()
  k = jax.random.key(4)
  mild = presets.simclr_cifar(16, random_field="mild")
  assert [n for n, _ in mild.ops][2] == "random_field"
  # Same pipeline with an identity in the field slot: same keys for every
  # other op, so any difference comes from the random field alone.
  ident = presets.simclr_cifar(16, random_field=lambda key, image: image)
  a, _ = _two_views(k, images, aug=ident)
  b, _ = _two_views(k, images, aug=mild)
  assert b.shape == a.shape
  assert np.all(np.isfinite(b)) and b.min() >= 0 and b.max() <= 1
  assert not np.allclose(a, b, atol=1e-3)


def test_field_augmentation_and_specs():
  fn = presets.field_augmentation("mild", rotation=0.1)
  assert callable(fn)
  for spec in ("medium", {"setting": "strong", "hue": 0.0}, {"scale": 0.0}):
    assert callable(dict(presets.simclr(8, random_field=spec).ops)[
        "random_field"])
  with pytest.raises(ValueError, match="setting"):
    presets.field_augmentation("wild")
  with pytest.raises(ValueError, match="bogus"):
    presets.field_augmentation("mild", bogus=1.0)


def test_bad_inputs():
  with pytest.raises(ValueError, match="strength"):
    presets.simclr(16, strength=-1.0)
  with pytest.raises(ValueError, match="strength"):
    presets.simclr(16, strength=3.0)
  with pytest.raises(ValueError, match="size"):
    presets.simclr(0)
  with pytest.raises(TypeError, match="random_field"):
    presets.simclr(16, random_field=3)
  aug = presets.simclr_cifar(8)
  with pytest.raises(ValueError, match="images"):
    presets.two_views(jax.random.key(0), jnp.zeros((8, 8, 3)), aug)
  with pytest.raises(TypeError, match="aug"):
    presets.two_views(jax.random.key(0), jnp.zeros((2, 8, 8, 3)), None)
  with pytest.raises(TypeError, match="to_float"):
    aug(jax.random.key(0), jnp.zeros((8, 8, 3), jnp.uint8))
  with pytest.raises(ValueError, match="channels"):
    aug(jax.random.key(0), jnp.zeros((8, 8, 2)))
  with pytest.raises(ValueError, match="convention"):
    presets.simclr(8, convention="pil")
  # Documented route for uint8 data.
  out = jax.eval_shape(aug, jax.random.key(0),
                       jaxaug.to_float(np.zeros((9, 9, 3), np.uint8)))
  assert out.shape == (8, 8, 3)


@pytest.mark.parametrize("preset", [presets.simclr, presets.simclr_cifar])
def test_area_reaches_the_crop(preset):
  # The crop step samples its box with the preset's `area`: a full-area range
  # gives the identity crop of a square image (before the flip).
  aug = preset(8, area=(1.0, 1.0))
  crop = aug.ops[0][1]
  assert crop.keywords["area"] == (1.0, 1.0)
  image = _images(b=1, h=8, w=8)[0]
  np.testing.assert_allclose(crop(jax.random.key(0), image), image, atol=1e-6)
  assert presets.simclr_cifar(8).ops[0][1].keywords["area"] == (0.08, 1.0)
