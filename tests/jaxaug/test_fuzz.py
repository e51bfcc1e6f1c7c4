"""Property-based fuzzing of every public jaxaug op and preset (hypothesis).

For random sizes (1..96, non-square), channel counts (1, 3, 4 where the op
allows), dtypes (float32, float16, bfloat16), image contents (random, all 0,
all 1, one hot pixel, constant) and magnitudes drawn inside each op's
documented range, every op must:
  * produce no NaN/Inf and stay in [0, 1];
  * keep shape (or produce its documented output shape) and dtype;
  * give the same output for the same key, and the same result under `jit`
    and under `vmap` (batch of two copies with the same key).
The default profile draws two examples per op and checks jit only (the
per-module tests check eager == jit == vmap at fixed sizes); `pytest -m slow`
runs the long profile (40 examples per op, with the vmap check).
"""

import math

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import jax
import jax.numpy as jnp
import jaxaug
from jaxaug import fields
from jaxaug import presets
import numpy as np
import pytest

FAST = settings(max_examples=2, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=40, deadline=None,
                suppress_health_check=list(HealthCheck))

ANY_C = (1, 3, 4)
RGB = (3,)
COLOUR = (1, 3)  # ops that mix channels: RGB, or grey (where they reduce)
PI = math.pi


def _invert(key, image):
  del key  # A deterministic op inside a combinator.
  return jaxaug.invert(image)


def _half(h, w):
  return (max(1, h // 2), max(1, w // 2))


# name -> (fn(key, image, m) with m a traced scalar in [0, 1], channels,
#          output shape fn(h, w) or None when the shape is kept).
OPS = {
    # Geometric.
    "flip_left_right": (lambda k, x, m: jaxaug.flip_left_right(x), ANY_C,
                        None),
    "flip_up_down": (lambda k, x, m: jaxaug.flip_up_down(x), ANY_C, None),
    "random_flip_left_right": (
        lambda k, x, m: jaxaug.random_flip_left_right(k, x, probability=m),
        ANY_C, None),
    "random_flip_up_down": (
        lambda k, x, m: jaxaug.random_flip_up_down(k, x, probability=m), ANY_C,
        None),
    "rot90": (lambda k, x, m: jaxaug.rot90(x, k=2), ANY_C, None),
    "rotate": (lambda k, x, m: jaxaug.rotate(x, (2 * m - 1) * PI), ANY_C,
               None),
    "rotate_constant_bicubic": (
        lambda k, x, m: jaxaug.rotate(x, m, order=3, mode="constant", cval=1.),
        ANY_C, None),
    "random_rotate": (lambda k, x, m: jaxaug.random_rotate(
        k, x, angle=(-m * PI, m * PI)), ANY_C, None),
    "affine_transform": (lambda k, x, m: jaxaug.affine_transform(
        x, jnp.array([[1 + m, 0.3 * m, -2.], [-0.2, 1 - 0.5 * m, 3 * m]]),
        mode="wrap"), ANY_C, None),
    "random_affine": (lambda k, x, m: jaxaug.random_affine(k, x), ANY_C,
                      None),
    "translate": (lambda k, x, m: jaxaug.translate(
        x, jnp.stack([10 * m, -5 * m]), mode="edge"), ANY_C, None),
    "random_translate": (lambda k, x, m: jaxaug.random_translate(k, x), ANY_C,
                         None),
    "scale": (lambda k, x, m: jaxaug.scale(x, 0.25 + 2 * m), ANY_C, None),
    "random_scale": (lambda k, x, m: jaxaug.random_scale(k, x), ANY_C, None),
    "shear": (lambda k, x, m: jaxaug.shear(x, m - 0.5), ANY_C, None),
    "random_shear": (lambda k, x, m: jaxaug.random_shear(k, x), ANY_C, None),
    "resized_crop": (lambda k, x, m: jaxaug.resized_crop(
        x, jnp.stack([m, m, 1. + 0 * m, 1. + m]), size=(7, 5)), ANY_C,
                     lambda h, w: (7, 5)),
    "random_resized_crop": (lambda k, x, m: jaxaug.random_resized_crop(
        k, x, size=(9, 6)), ANY_C, lambda h, w: (9, 6)),
    "random_crop": (lambda k, x, m: jaxaug.random_crop(
        k, x, size=_half(*x.shape[:2])), ANY_C, _half),
    "center_crop": (lambda k, x, m: jaxaug.center_crop(
        x, size=_half(*x.shape[:2])), ANY_C, _half),
    "pad": (lambda k, x, m: jaxaug.pad(x, 2, mode="constant", cval=m), ANY_C,
            lambda h, w: (h + 4, w + 4)),
    "pad_mirror": (lambda k, x, m: jaxaug.pad(x, 3, mode="mirror"), ANY_C,
                   lambda h, w: (h + 6, w + 6)),
    "rotate_mirror": (lambda k, x, m: jaxaug.rotate(x, m, mode="mirror"),
                      ANY_C, None),
    # Colour.
    "adjust_brightness": (lambda k, x, m: jaxaug.adjust_brightness(
        x, 2 * m - 1), ANY_C, None),
    "adjust_contrast": (lambda k, x, m: jaxaug.adjust_contrast(x, 3 * m),
                        ANY_C, None),
    "adjust_saturation": (lambda k, x, m: jaxaug.adjust_saturation(x, 3 * m),
                          COLOUR, None),
    "adjust_hue": (lambda k, x, m: jaxaug.adjust_hue(x, m - 0.5), COLOUR,
                   None),
    "scale_brightness": (lambda k, x, m: jaxaug.scale_brightness(x, 2 * m),
                         ANY_C, None),
    "adjust_contrast_tv": (lambda k, x, m: jaxaug.adjust_contrast(
        x, 3 * m, convention="torchvision"), ANY_C, None),
    "adjust_saturation_tv": (lambda k, x, m: jaxaug.adjust_saturation(
        x, 3 * m, convention="torchvision"), COLOUR, None),
    "color_jitter_tv": (lambda k, x, m: jaxaug.color_jitter(
        k, x, brightness=m, contrast=m, saturation=m, hue=m / 2,
        convention="torchvision"), COLOUR, None),
    "adjust_gamma": (lambda k, x, m: jaxaug.adjust_gamma(x, 0.1 + 3 * m),
                     ANY_C, None),
    "random_brightness": (lambda k, x, m: jaxaug.random_brightness(
        k, x, delta=(-m, m)), ANY_C, None),
    "random_contrast": (lambda k, x, m: jaxaug.random_contrast(
        k, x, factor=(m, 1 + m)), ANY_C, None),
    "random_contrast_tv": (lambda k, x, m: jaxaug.random_contrast(
        k, x, factor=(m, 1 + m), convention="torchvision"), ANY_C, None),
    "random_saturation": (lambda k, x, m: jaxaug.random_saturation(
        k, x, factor=(m, 1 + m)), COLOUR, None),
    "random_saturation_tv": (lambda k, x, m: jaxaug.random_saturation(
        k, x, factor=(m, 1 + m), convention="torchvision"), COLOUR, None),
    "random_hue": (lambda k, x, m: jaxaug.random_hue(
        k, x, delta=(-m / 2, m / 2)), COLOUR, None),
    "random_gamma": (lambda k, x, m: jaxaug.random_gamma(k, x), ANY_C, None),
    "rgb_to_hsv": (lambda k, x, m: jaxaug.rgb_to_hsv(x), RGB, None),
    "hsv_to_rgb": (lambda k, x, m: jaxaug.hsv_to_rgb(x), RGB, None),
    "rgb_to_grayscale": (lambda k, x, m: jaxaug.rgb_to_grayscale(x), COLOUR,
                         None),
    "random_grayscale": (lambda k, x, m: jaxaug.random_grayscale(
        k, x, probability=m), COLOUR, None),
    "color_jitter": (lambda k, x, m: jaxaug.color_jitter(
        k, x, brightness=m, contrast=m, saturation=m, hue=m / 2), COLOUR,
        None),
    "solarize": (lambda k, x, m: jaxaug.solarize(x, threshold=m), ANY_C,
                 None),
    "random_solarize": (lambda k, x, m: jaxaug.random_solarize(k, x), ANY_C,
                        None),
    "posterize": (lambda k, x, m: jaxaug.posterize(x, 3), ANY_C, None),
    "equalize": (lambda k, x, m: jaxaug.equalize(x), ANY_C, None),
    "autocontrast": (lambda k, x, m: jaxaug.autocontrast(x), ANY_C, None),
    "invert": (lambda k, x, m: jaxaug.invert(x), ANY_C, None),
    "adjust_sharpness": (lambda k, x, m: jaxaug.adjust_sharpness(x, 2 * m),
                         ANY_C, None),
    "random_sharpness": (lambda k, x, m: jaxaug.random_sharpness(k, x), ANY_C,
                         None),
    # Filters and erasing.
    "gaussian_blur": (lambda k, x, m: jaxaug.gaussian_blur(
        x, 3 * m, kernel_size=9), ANY_C, None),
    "random_gaussian_blur": (lambda k, x, m: jaxaug.random_gaussian_blur(
        k, x, kernel_size=5), ANY_C, None),
    "cutout": (lambda k, x, m: jaxaug.cutout(
        x, jnp.stack([m * 3, m, 4 * m, 2. + 0 * m]), value=m), ANY_C, None),
    "random_erasing": (lambda k, x, m: jaxaug.random_erasing(
        k, x, probability=m), ANY_C, None),
    # Policies.
    "rand_augment": (lambda k, x, m: jaxaug.rand_augment(
        k, x, num_ops=2, magnitude=30 * m), COLOUR, None),
    "trivial_augment": (lambda k, x, m: jaxaug.trivial_augment(k, x), COLOUR,
                        None),
    # Random fields.
    "random_field_warp": (lambda k, x, m: jaxaug.random_field_warp(
        k, x, rotation=0.3 * m, scale=0.2 * m, shear=0.2 * m,
        translation=3 * m, length_scale=4.), ANY_C, None),
    "random_field_color": (lambda k, x, m: jaxaug.random_field_color(
        k, x, hue=0.1 * m, saturation=0.5 * m, brightness=0.5 * m,
        contrast=0.5 * m, length_scale=4.), COLOUR, None),
    # Composition and presets.
    "chain_fused": (lambda k, x, m: jaxaug.chain(
        jaxaug.random_rotate, jaxaug.random_scale, jaxaug.random_flip_left_right,
        _invert)(k, x), ANY_C, None),
    "with_probability": (lambda k, x, m: jaxaug.with_probability(
        _invert, 0.5)(k, x), ANY_C, None),
    "one_of": (lambda k, x, m: jaxaug.one_of(
        _invert, lambda kk, xx: jaxaug.random_rotate(kk, xx))(k, x),
               ANY_C, None),
    "in_random_order": (lambda k, x, m: jaxaug.in_random_order(
        _invert, jaxaug.random_flip_up_down)(k, x),
                     ANY_C, None),
    "preset_simclr": (lambda k, x, m: presets.simclr(12)(k, x), COLOUR,
                      lambda h, w: (12, 12)),
    "preset_simclr_cifar_rf": (lambda k, x, m: presets.simclr_cifar(
        10, random_field="strong")(k, x), COLOUR, lambda h, w: (10, 10)),
    "preset_field_augmentation": (lambda k, x, m: presets.field_augmentation(
        "medium")(k, x), COLOUR, None),
}

DTYPES = (jnp.float32, jnp.float16, jnp.bfloat16)
CONTENTS = ("random", "zeros", "ones", "hot_pixel", "constant")


@st.composite
def cases(draw, channels):
  h = draw(st.integers(1, 96))
  w = draw(st.integers(1, 96))
  c = draw(st.sampled_from(channels))
  dtype = draw(st.sampled_from(DTYPES))
  content = draw(st.sampled_from(CONTENTS))
  seed = draw(st.integers(0, 2**31 - 1))
  m = draw(st.floats(0.0, 1.0))
  rng = np.random.default_rng(seed)
  if content == "random":
    img = rng.random((h, w, c))
  elif content == "zeros":
    img = np.zeros((h, w, c))
  elif content == "ones":
    img = np.ones((h, w, c))
  elif content == "hot_pixel":
    img = np.zeros((h, w, c))
    img[rng.integers(h), rng.integers(w)] = 1.0
  else:
    img = np.full((h, w, c), rng.random())
  return jnp.asarray(img, dtype=dtype), np.float32(m), seed


def _tol(dtype):
  return 1e-5 if dtype == jnp.float32 else 2e-2


def check_op(name, case, *, check_vmap):
  fn, _, out_hw = OPS[name]
  image, m, seed = case
  h, w, c = image.shape
  key = jax.random.key(seed)
  jitted = jax.jit(fn)
  out = jitted(key, image, m)
  again = jitted(key, image, m)
  want_hw = (h, w) if out_hw is None else tuple(out_hw(h, w))
  assert out.shape == (*want_hw, c), (name, image.shape, out.shape)
  assert out.dtype == image.dtype, (name, image.dtype, out.dtype)
  o = np.asarray(out.astype(jnp.float32))
  assert np.all(np.isfinite(o)), f"{name}: non-finite output for {case[0].shape}"
  assert o.min() >= 0.0 and o.max() <= 1.0, (name, o.min(), o.max())
  np.testing.assert_array_equal(o, np.asarray(again.astype(jnp.float32)))
  if not check_vmap:
    return
  keys = jnp.stack([key, key])
  batched = jax.jit(jax.vmap(fn, in_axes=(0, 0, None)))(
      keys, jnp.stack([image, image]), m)
  for b in range(2):
    np.testing.assert_allclose(np.asarray(batched[b].astype(jnp.float32)), o,
                               atol=_tol(image.dtype), err_msg=name)


@pytest.mark.parametrize("name", sorted(OPS))
def test_fuzz_op(name):
  FAST(given(case=cases(OPS[name][1]))(
      lambda case: check_op(name, case, check_vmap=False)))()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OPS))
def test_fuzz_op_long(name):
  LONG(given(case=cases(OPS[name][1]))(
      lambda case: check_op(name, case, check_vmap=True)))()


@st.composite
def batch_cases(draw):
  b = draw(st.integers(1, 6))
  h = draw(st.integers(1, 40))
  w = draw(st.integers(1, 40))
  c = draw(st.sampled_from(ANY_C))
  seed = draw(st.integers(0, 2**31 - 1))
  content = draw(st.sampled_from(("random", "zeros", "ones")))
  rng = np.random.default_rng(seed)
  img = {"random": rng.random, "zeros": np.zeros, "ones": np.ones}[content](
      (b, h, w, c))
  labels = rng.integers(0, 5, size=(b,))
  return jnp.asarray(img, jnp.float32), jnp.asarray(labels), seed


@pytest.mark.parametrize("name", ["mixup", "cutmix", "resizemix"])
@FAST
@given(case=batch_cases())
def test_fuzz_mixing(name, case):
  images, labels, seed = case
  fn = getattr(jaxaug, name)
  run = jax.jit(lambda k, x, y: fn(k, x, y, num_classes=5))
  mixed, soft = run(jax.random.key(seed), images, labels)
  assert mixed.shape == images.shape and mixed.dtype == images.dtype
  assert soft.shape == (images.shape[0], 5)
  assert np.all(np.isfinite(mixed)) and np.all(np.isfinite(soft))
  assert float(mixed.min()) >= 0 and float(mixed.max()) <= 1
  np.testing.assert_allclose(np.asarray(soft).sum(-1), 1.0, atol=1e-5)


@st.composite
def field_cases(draw):
  ndim = draw(st.integers(1, 3))
  limit = {1: 200, 2: 48, 3: 12}[ndim]
  shape = tuple(draw(st.integers(1, limit)) for _ in range(ndim))
  spectrum = draw(st.sampled_from(("gaussian", "matern", "power_law")))
  length_scale = draw(st.floats(0.3, 20.0))
  periodic = draw(st.booleans())
  seed = draw(st.integers(0, 2**31 - 1))
  return shape, spectrum, length_scale, periodic, seed


@FAST
@given(case=field_cases())
def test_fuzz_gaussian_random_field(case):
  shape, spectrum, length_scale, periodic, seed = case
  f = fields.gaussian_random_field(jax.random.key(seed), shape,
                                   length_scale=length_scale,
                                   spectrum=spectrum, periodic=periodic)
  assert f.shape == shape and f.dtype == jnp.float32
  assert np.all(np.isfinite(np.asarray(f)))
