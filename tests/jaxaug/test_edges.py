"""jaxaug at the edges: one test per class of fault, with its smallest input.

Each class has the smallest failing input found (as a plain test with the
right value) and a property test over the class (hypothesis):

* finite gradients for tiny, subnormal and degenerate inputs (near-black
  pixels, constant images, zero-area boxes, sigma near 0);
* output ranges kept in float32, float16 and bfloat16;
* every boundary mode equal to scipy for any finite coordinate;
* one policy for pixel values outside [0, 1] (concrete: ValueError naming
  the argument; traced: clipped on entry).

The default profile draws few examples from compiled functions; the long
profiles are marked slow (`pytest -m slow`).
"""

import functools

from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import jax
import jax.numpy as jnp
import jaxaug
import numpy as np
import pytest
from scipy import ndimage

FAST = settings(max_examples=10, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=200, deadline=None,
                suppress_health_check=list(HealthCheck))
KEY = jax.random.key(0)

# --------------------------------------------------------------------------
# Boundary modes far outside the image, against scipy.

SCIPY_MODES = {"reflect": "reflect", "mirror": "mirror", "wrap": "grid-wrap",
               "constant": "grid-constant", "edge": "nearest"}


def test_wrap_far_outside_smallest_case():
  # A 2x1 image shifted by 25 rows: np.roll's answer (was [0.2, 0.2]).
  img = jnp.array([[0.2], [0.9]])[..., None]
  out = jaxaug.translate(img, (25, 0), mode="wrap")
  np.testing.assert_allclose(out[:, 0, 0], np.roll([0.2, 0.9], 25), atol=1e-6)


@pytest.mark.parametrize("mode", sorted(SCIPY_MODES))
def test_zoom_out_far_matches_scipy(mode):
  # scale(., 0.05) on 8x8 samples up to 10 sides away (wrap was off by 0.71).
  x = np.random.default_rng(0).random((8, 8, 1)).astype(np.float32)
  c = 3.5
  grid = np.mgrid[0:8, 0:8].astype(np.float64)
  coords = (grid - c) * 20.0 + c  # the input positions scale() samples
  for order in (0, 1):
    out = jaxaug.scale(x, 0.05, mode=mode, order=order)
    ref = ndimage.map_coordinates(x[..., 0].astype(np.float64), coords,
                                  order=order, mode=SCIPY_MODES[mode])
    np.testing.assert_allclose(out[..., 0], ref, atol=1e-5,
                               err_msg=f"{mode} order {order}")


@functools.lru_cache(maxsize=None)
def _sampler(order, mode):
  return jax.jit(functools.partial(jaxaug.map_coordinates, order=order,
                                   mode=mode, cval=0.25))


@st.composite
def far_coordinates(draw, shapes=((1, 4), (3, 5))):
  # Few shapes (each compiles the samplers once); a side of 1 included.
  h, w = draw(st.sampled_from(shapes))
  # Up to 1000 sides away; half-integers (rounding ties) are common.
  reach = draw(st.sampled_from([2, 30, 1000]))
  halves = draw(st.booleans())
  seed = draw(st.integers(0, 2**31 - 1))
  rng = np.random.default_rng(seed)
  coords = rng.uniform(-reach, reach, (2, 16)) * np.array([[h], [w]])
  if halves:
    coords = np.round(coords * 2) / 2
  image = rng.random((h, w, 2)).astype(np.float32)
  return image, coords.astype(np.float32)


def _check_far(case, mode):
  image, coords = case
  for order in (0, 1):
    out = np.asarray(_sampler(order, mode)(image, coords))
    ref = np.stack([ndimage.map_coordinates(
        image[..., c].astype(np.float64), coords.astype(np.float64),
        order=order, mode=SCIPY_MODES[mode], cval=0.25) for c in range(2)],
                   -1)
    np.testing.assert_allclose(out, ref, atol=2e-5,
                               err_msg=f"{mode} order {order}")
  # Order 3 is not scipy's spline; the periodic modes must be periodic.
  if mode in _PERIODS:
    period = np.array([[_PERIODS[mode](n)] for n in image.shape[:2]],
                      np.float32)
    # fmod is exact, so the shifted coordinate is exactly representable.
    a = _sampler(3, mode)(image, coords)
    b = _sampler(3, mode)(image, np.fmod(coords, period))
    np.testing.assert_allclose(a, b, atol=2e-5, err_msg=f"{mode} order 3")


_PERIODS = {"wrap": lambda n: n, "reflect": lambda n: 2 * n,
            "mirror": lambda n: max(2 * n - 2, 1)}


@pytest.mark.parametrize("mode", sorted(SCIPY_MODES))
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(case=far_coordinates())
def test_every_mode_matches_scipy_anywhere(mode, case):
  _check_far(case, mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(SCIPY_MODES))
@LONG
@given(case=far_coordinates(shapes=tuple(
    (h, w) for h in range(1, 7) for w in range(1, 7))))
def test_every_mode_matches_scipy_anywhere_long(mode, case):
  _check_far(case, mode)


# --------------------------------------------------------------------------
# Finite gradients for tiny, subnormal and degenerate inputs.


def test_near_black_pixel_gradients_smallest_case():
  # One pixel (0, 1e-20, 0): chroma**2 underflows float32; every gradient
  # below was NaN.
  x = jnp.zeros((1, 1, 3)).at[0, 0, 1].set(1e-20)
  losses = {
      "rgb_to_hsv": lambda im: jaxaug.rgb_to_hsv(im).sum(),
      "adjust_hue": lambda im: jaxaug.adjust_hue(im, 0.3).sum(),
      "adjust_saturation 0.5": lambda im: jaxaug.adjust_saturation(
          im, 0.5).sum(),
      "adjust_saturation 1.5": lambda im: jaxaug.adjust_saturation(
          im, 1.5).sum(),
  }
  # color_jitter and the field colour op: the first example of
  # test_gradients_finite_on_degenerate_inputs (SMALLEST) holds this pixel.
  grads = jax.jit(lambda im: {n: jax.grad(f)(im)
                              for n, f in losses.items()})(x)
  for name, g in grads.items():
    assert np.all(np.isfinite(g)), name
  # The value is still right: such a pixel is grey (hue 0, saturation 0).
  np.testing.assert_allclose(jaxaug.rgb_to_hsv(x)[0, 0], [0, 0, 1e-20])


def test_blurred_green_pixel_gradients():
  # A 5x5 black image with one green pixel, blurred with sigma 0.08: four
  # pixels get chroma ~1e-20 (the tails of the Gaussian).
  img = jnp.zeros((5, 5, 3)).at[2, 2, 1].set(1.0)

  def loss(im):
    blurred = jaxaug.gaussian_blur(im, 0.08, kernel_size=5)
    return (jaxaug.adjust_hue(blurred, 0.2).sum() +
            jaxaug.adjust_saturation(blurred, 1.5).sum() +
            jaxaug.rgb_to_hsv(blurred).sum())

  blurred = np.asarray(jaxaug.gaussian_blur(img, 0.08, kernel_size=5))
  tiny = (blurred[..., 1] > 0) & (blurred[..., 1] < 1e-12)
  assert tiny.sum() == 4
  assert np.all(np.isfinite(jax.jit(jax.grad(loss))(img)))


# Degenerate values: 0, subnormals, tiny normals, just around the grey
# threshold, and next to 0.5 and 1.
DEGENERATE = (0.0, 1e-45, 1e-40, 1e-38, 1e-30, 1e-20, 1e-13, 1e-12, 2e-12,
              1e-7, 0.5, 0.5 + 6e-8, 1 - 6e-8, 1.0)
# Magnitudes near their degenerate points (sigma near 0, zero boxes).
MAGNITUDES = (0.0, 1e-45, 1e-30, 1e-12, 5e-5, 1e-4, 1.0001e-4, 0.3, 1.0)

# name -> fn(image (4, 4, 3) in [0, 1], m in [0, 1]).
GRAD_OPS = {
    "rgb_to_hsv": lambda x, m: jaxaug.rgb_to_hsv(x) * m,
    "hsv_to_rgb": lambda x, m: jaxaug.hsv_to_rgb(x.at[..., 0].add(m)),
    "rgb_to_grayscale": lambda x, m: jaxaug.rgb_to_grayscale(x) * m,
    "adjust_brightness": lambda x, m: jaxaug.adjust_brightness(x, m - 0.5),
    "scale_brightness": lambda x, m: jaxaug.scale_brightness(x, 2 * m),
    "adjust_contrast": lambda x, m: jaxaug.adjust_contrast(x, 2 * m),
    "adjust_contrast_tv": lambda x, m: jaxaug.adjust_contrast(
        x, 2 * m, convention="torchvision"),
    "adjust_saturation": lambda x, m: jaxaug.adjust_saturation(x, 2 * m),
    "adjust_saturation_tv": lambda x, m: jaxaug.adjust_saturation(
        x, 2 * m, convention="torchvision"),
    "adjust_hue": lambda x, m: jaxaug.adjust_hue(x, m),
    "adjust_gamma": lambda x, m: jaxaug.adjust_gamma(x, 2 * m),
    "color_jitter": lambda x, m: jaxaug.color_jitter(
        KEY, x, brightness=m, contrast=m, saturation=m, hue=m / 2),
    "color_jitter_tv": lambda x, m: jaxaug.color_jitter(
        KEY, x, brightness=m, contrast=m, saturation=m, hue=m / 2,
        convention="torchvision"),
    "autocontrast": lambda x, m: jaxaug.autocontrast(x * m),
    "adjust_sharpness": lambda x, m: jaxaug.adjust_sharpness(x, 2 * m),
    "invert": lambda x, m: jaxaug.invert(x) * m,
    "gaussian_blur": lambda x, m: jaxaug.gaussian_blur(x, 2 * m,
                                                       kernel_size=3),
    "rotate": lambda x, m: jaxaug.rotate(x, m, order=3, mode="mirror"),
    "scale": lambda x, m: jaxaug.scale(x, m + 1e-6, mode="wrap"),
    "translate": lambda x, m: jaxaug.translate(x, (40 * m, -m)),
    "resized_crop": lambda x, m: jaxaug.resized_crop(
        x, jnp.stack([m, m, m, m * 0]), size=3),
    "cutout": lambda x, m: jaxaug.cutout(x, jnp.stack([m, m, m, m]),
                                         value=m),
    "field_warp": lambda x, m: jaxaug.random_field_warp(
        KEY, x, rotation=m, scale=m, shear=m, translation=m,
        length_scale=1.0 + m),
    "field_color": lambda x, m: jaxaug.random_field_color(
        KEY, x, hue=m, saturation=m, brightness=m, contrast=m,
        length_scale=1.0 + m),
    "denormalize": lambda x, m: jaxaug.denormalize(
        jaxaug.normalize(x, 0.5, 0.25), 0.5, 0.25) * m,
}


@functools.lru_cache(maxsize=None)
def _grad_fn(name):
  op = GRAD_OPS[name]

  def loss(x, m):
    return jnp.sum(jnp.sin(3.0 * op(x, m)))

  return jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1))))


@st.composite
def degenerate_batches(draw):
  values = st.sampled_from(DEGENERATE)
  flat = draw(st.lists(values, min_size=4 * 48, max_size=4 * 48))
  images = np.asarray(flat, np.float32).reshape(4, 4, 4, 3)
  # One image of each kind is constant: grey, black or white.
  images[0] = draw(values)
  mags = draw(st.lists(st.sampled_from(MAGNITUDES), min_size=4, max_size=4))
  return images, np.asarray(mags, np.float32)


def _check_grads(name, batch):
  images, mags = batch
  gx, gm = _grad_fn(name)(images, mags)
  assert np.all(np.isfinite(gx)), f"{name}: non-finite image gradient"
  assert np.all(np.isfinite(gm)), f"{name}: non-finite magnitude gradient"


# The smallest failing input: a black image with one pixel (0, 1e-20, 0).
SMALLEST = (np.zeros((4, 4, 4, 3), np.float32), np.asarray(
    [0.3, 1.0, 5e-5, 0.0], np.float32))
SMALLEST[0][:, 1, 1, 1] = 1e-20


@pytest.mark.parametrize("name", sorted(GRAD_OPS))
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(batch=degenerate_batches())
@example(batch=SMALLEST)
def test_gradients_finite_on_degenerate_inputs(name, batch):
  _check_grads(name, batch)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GRAD_OPS))
@LONG
@given(batch=degenerate_batches())
def test_gradients_finite_on_degenerate_inputs_long(name, batch):
  _check_grads(name, batch)


# --------------------------------------------------------------------------
# Output ranges in float32, float16 and bfloat16.

HALF = (jnp.float16, jnp.bfloat16)


@pytest.mark.parametrize("dtype", HALF, ids=["float16", "bfloat16"])
def test_hue_stays_below_one_in_half_precision(dtype):
  # float32 gives 0.99983; the cast rounded it up to 1.0.
  x = jnp.asarray([[[1.0, 0.0, 0.001]]], dtype)
  h = float(jaxaug.rgb_to_hsv(x)[0, 0, 0])
  assert 0.0 <= h < 1.0
  # Random image: 6 of 4096 bfloat16 pixels reached 1.0 before.
  x = jax.random.uniform(jax.random.key(0), (64, 64, 3)).astype(dtype)
  hue = np.asarray(jaxaug.rgb_to_hsv(x)[..., 0].astype(jnp.float32))
  assert hue.min() >= 0.0 and hue.max() < 1.0


DTYPES = (jnp.float32, jnp.float16, jnp.bfloat16)

# name -> (fn(x) for an (8, 8, 3) image, (lo, hi, hi_inclusive)).
RANGE_OPS = {
    "rgb_to_hsv": (jaxaug.rgb_to_hsv, None),
    "hsv_to_rgb": (jaxaug.hsv_to_rgb, None),
    "adjust_hue": (lambda x: jaxaug.adjust_hue(x, 0.3), None),
    "adjust_saturation": (lambda x: jaxaug.adjust_saturation(x, 1.7), None),
    "color_jitter_tv": (lambda x: jaxaug.color_jitter(
        KEY, x, brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2,
        convention="torchvision"), None),
    "rotate_bicubic": (lambda x: jaxaug.rotate(x, 0.3, order=3), None),
    "field_warp": (lambda x: jaxaug.random_field_warp(
        KEY, x, rotation=0.2, translation=1.0, length_scale=2.0), None),
    "blur": (lambda x: jaxaug.gaussian_blur(x, 1.0, kernel_size=5), None),
}


@functools.lru_cache(maxsize=None)
def _range_fn(name):
  return jax.jit(RANGE_OPS[name][0])


@st.composite
def typed_images(draw):
  dtype = draw(st.sampled_from(DTYPES))
  seed = draw(st.integers(0, 2**31 - 1))
  rng = np.random.default_rng(seed)
  x = rng.random((8, 8, 3))
  # Near-extreme values that round to 0 or 1 in half precision.
  x[rng.random((8, 8)) < 0.3] = rng.choice([0.0, 1e-3, 0.999, 1.0], 3)
  return jnp.asarray(x, dtype)


def _check_range(name, image):
  out = _range_fn(name)(image)
  assert out.dtype == image.dtype, name
  o = np.asarray(out.astype(jnp.float32))
  assert np.all(np.isfinite(o)), name
  assert o.min() >= 0.0 and o.max() <= 1.0, (name, image.dtype)
  if name == "rgb_to_hsv":
    assert o[..., 0].max() < 1.0, (name, image.dtype)


@pytest.mark.parametrize("name", sorted(RANGE_OPS))
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(image=typed_images())
def test_output_range_in_every_dtype(name, image):
  _check_range(name, image)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RANGE_OPS))
@LONG
@given(image=typed_images())
def test_output_range_in_every_dtype_long(name, image):
  _check_range(name, image)


# --------------------------------------------------------------------------
# One policy for pixel values outside [0, 1].

_OUT = jnp.asarray(np.random.default_rng(3).uniform(-1, 1, (8, 8, 3)),
                   jnp.float32)

# Every single-image op, as fn(key, image).
POLICY_OPS = {
    "rotate": lambda k, x: jaxaug.rotate(x, 0.3),
    "random_rotate_bicubic": lambda k, x: jaxaug.random_rotate(k, x, order=3),
    "translate": lambda k, x: jaxaug.translate(x, (1.5, -2.0)),
    "scale": lambda k, x: jaxaug.scale(x, 1.3),
    "shear": lambda k, x: jaxaug.shear(x, 0.2),
    "affine_transform": lambda k, x: jaxaug.affine_transform(x, jnp.eye(3)),
    "random_affine": jaxaug.random_affine,
    "random_resized_crop": lambda k, x: jaxaug.random_resized_crop(
        k, x, size=6),
    "resized_crop": lambda k, x: jaxaug.resized_crop(x, (1., 1., 5., 5.),
                                                     size=4),
    "random_crop": lambda k, x: jaxaug.random_crop(k, x, size=4),
    "center_crop": lambda k, x: jaxaug.center_crop(x, size=4),
    "flip_left_right": lambda k, x: jaxaug.flip_left_right(x),
    "random_flip_up_down": jaxaug.random_flip_up_down,
    "rot90": lambda k, x: jaxaug.rot90(x),
    "random_rot90": jaxaug.random_rot90,
    "pad": lambda k, x: jaxaug.pad(x, 2, mode="mirror"),
    "map_coordinates": lambda k, x: jaxaug.map_coordinates(
        x, jaxaug.identity_grid(8, 8) * 0.9),
    "field_warp_zero": lambda k, x: jaxaug.random_field_warp(k, x),
    "field_warp": lambda k, x: jaxaug.random_field_warp(
        k, x, rotation=0.1, length_scale=3.0),
    "field_color": lambda k, x: jaxaug.random_field_color(
        k, x, hue=0.1, length_scale=3.0),
    "adjust_brightness": lambda k, x: jaxaug.adjust_brightness(x, 0.1),
    "scale_brightness": lambda k, x: jaxaug.scale_brightness(x, 1.2),
    "adjust_contrast": lambda k, x: jaxaug.adjust_contrast(x, 1.2),
    "adjust_saturation": lambda k, x: jaxaug.adjust_saturation(x, 1.2),
    "adjust_hue": lambda k, x: jaxaug.adjust_hue(x, 0.1),
    "adjust_gamma": lambda k, x: jaxaug.adjust_gamma(x, 0.8),
    "rgb_to_hsv": lambda k, x: jaxaug.rgb_to_hsv(x),
    "rgb_to_grayscale": lambda k, x: jaxaug.rgb_to_grayscale(x),
    "random_grayscale": jaxaug.random_grayscale,
    "color_jitter": lambda k, x: jaxaug.color_jitter(k, x, brightness=0.5),
    "solarize": lambda k, x: jaxaug.solarize(x),
    "random_solarize": jaxaug.random_solarize,
    "posterize": lambda k, x: jaxaug.posterize(x, 3),
    "equalize": lambda k, x: jaxaug.equalize(x),
    "autocontrast": lambda k, x: jaxaug.autocontrast(x),
    "invert": lambda k, x: jaxaug.invert(x),
    "adjust_sharpness": lambda k, x: jaxaug.adjust_sharpness(x, 1.5),
    "gaussian_blur": lambda k, x: jaxaug.gaussian_blur(x, 1.0),
    "random_gaussian_blur": jaxaug.random_gaussian_blur,
    "cutout": lambda k, x: jaxaug.cutout(x, (1, 1, 3, 3)),
    "random_erasing": jaxaug.random_erasing,
    "rand_augment": jaxaug.rand_augment,
    "trivial_augment": jaxaug.trivial_augment,
    "field_augmentation": jaxaug.presets.field_augmentation("mild"),
    "simclr": jaxaug.presets.simclr(6),
}


@pytest.mark.parametrize("name", sorted(POLICY_OPS))
def test_concrete_out_of_range_image_raises_naming_it(name):
  with pytest.raises(ValueError, match="image must have values in"):
    POLICY_OPS[name](KEY, _OUT)
  with pytest.raises(ValueError, match="to_float"):
    POLICY_OPS[name](KEY, (_OUT + 1) * 127.5)  # a 0-255 float image


# Every op goes through checks.check_values (the test above: each one raises
# on a concrete image), whose traced branch is the clip; one op per module
# checks that branch end to end.
TRACED_POLICY_OPS = ("random_rotate_bicubic", "random_resized_crop",
                     "field_warp_zero", "gaussian_blur", "color_jitter",
                     "random_erasing", "rand_augment", "simclr")


def test_traced_out_of_range_image_is_clipped_on_entry():
  # Random values in [-1, 1] were handled four ways (kept, clipped,
  # rescaled); traced, every op now sees clip(x, 0, 1). One compiled call:
  # the ops mapped over [x, clip(x)] with the same key.
  fns = {n: POLICY_OPS[n] for n in TRACED_POLICY_OPS}
  both = jnp.stack([_OUT, jnp.clip(_OUT, 0, 1)])
  outs = jax.jit(jax.vmap(lambda x: {n: f(KEY, x) for n, f in fns.items()})
                 )(both)
  for name in fns:
    o = np.asarray(outs[name])
    np.testing.assert_allclose(o[0], o[1], atol=1e-6, err_msg=name)
    assert o.min() >= 0 and o.max() <= 1, name


def test_clipping_keeps_gradients_of_black_and_white_pixels():
  # jnp.clip's gradient is 0.5 at exactly 0 and 1: clipping on entry (and
  # on exit) with it would halve the gradient of every black/white pixel.
  x = jnp.asarray(np.random.default_rng(2).integers(0, 2, (4, 4, 3)),
                  jnp.float32)
  grads = jax.jit(lambda im: (
      jax.grad(lambda y: jaxaug.flip_left_right(y).sum())(im),
      jax.grad(lambda y: jaxaug.invert(y).sum())(im),
      jax.grad(lambda y: jaxaug.color_jitter(KEY, y).sum())(im)))(x)
  np.testing.assert_array_equal(grads[0], 1.0)
  np.testing.assert_array_equal(grads[1], -1.0)
  np.testing.assert_array_equal(grads[2], 1.0)


def test_range_helpers():
  x255 = np.array([[[0., 127.5, 255.]]], np.float32)
  np.testing.assert_allclose(jaxaug.to_float(x255, max_value=255),
                             [[[0., 0.5, 1.]]])
  np.testing.assert_allclose(
      jaxaug.to_float(np.array([0, 255], np.uint8)), [0., 1.])
  mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
  x = jnp.asarray(np.random.default_rng(0).random((4, 5, 3)), jnp.float32)
  z = jaxaug.normalize(x, mean, std)
  np.testing.assert_allclose(z, (np.asarray(x) - mean) / std, rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(jaxaug.denormalize(z, mean, std), x, atol=1e-6)
  # A CHW batch, normalised upstream: denormalize, augment, normalize back.
  chw = jnp.moveaxis(z, -1, 0)
  back = jaxaug.denormalize(chw, mean, std, channel_axis=0)
  flipped = jaxaug.flip_left_right(back, channel_axis=0)
  np.testing.assert_allclose(
      jaxaug.normalize(flipped, mean, std, channel_axis=0),
      jnp.moveaxis(z, -1, 0)[:, :, ::-1], atol=1e-5)


# --------------------------------------------------------------------------
# Grey images and layouts.

_GREY = jnp.asarray(np.random.default_rng(4).random((8, 8, 1)), jnp.float32)


def test_colour_ops_on_one_channel():
  identity = jax.jit(lambda g: {
      "adjust_hue": jaxaug.adjust_hue(g, 0.3),
      "adjust_saturation": jaxaug.adjust_saturation(g, 0.2),
      "adjust_saturation_tv": jaxaug.adjust_saturation(
          g, 0.2, convention="torchvision"),
      "random_hue": jaxaug.random_hue(KEY, g, delta=(0.2, 0.3)),
      "random_saturation": jaxaug.random_saturation(KEY, g),
      "rgb_to_grayscale": jaxaug.rgb_to_grayscale(g),
      "random_grayscale": jaxaug.random_grayscale(KEY, g, probability=1.0),
      "color_jitter_hue_saturation": jaxaug.color_jitter(
          KEY, g, saturation=0.8, hue=0.4),
      "field_color_hue_saturation": jaxaug.random_field_color(
          KEY, g, hue=0.2, saturation=0.5),
  })(_GREY)
  for name, out in identity.items():
    np.testing.assert_array_equal(out, _GREY, err_msg=name)
  # Brightness and contrast still act on grey images, as torchvision's.
  order, f_b, f_c, *_ = jaxaug._src.color._color_jitter_draws(
      KEY, 0.8, 0.8, 0., 0., jnp.float32)
  del order
  out = jaxaug.color_jitter(KEY, _GREY, brightness=0.8, contrast=0.8,
                            random_order=False)
  want = jaxaug.adjust_contrast(jaxaug.scale_brightness(_GREY, f_b), f_c)
  np.testing.assert_allclose(out, want, atol=1e-6)
  for convention in ("tf", "torchvision"):
    np.testing.assert_allclose(
        jaxaug.adjust_contrast(_GREY, 0.5, convention=convention),
        0.5 * _GREY + 0.5 * _GREY.mean(), atol=1e-6)
  with pytest.raises(ValueError, match="3 channels"):
    jaxaug.rgb_to_hsv(_GREY)


def test_presets_take_grey_images_and_channel_axis():
  rgb = jnp.asarray(np.random.default_rng(5).random((10, 9, 3)), jnp.float32)
  # A grey image through the SimCLR recipe with mild random fields.
  grey_aug = jaxaug.presets.simclr_cifar(6, random_field="mild")
  out = grey_aug(KEY, rgb[..., :1])
  assert out.shape == (6, 6, 1)
  assert float(out.min()) >= 0 and float(out.max()) <= 1
  # A CHW image gives the HWC result in CHW layout.
  hwc = jaxaug.presets.simclr_cifar(6)(KEY, rgb)
  chw = jaxaug.presets.simclr_cifar(6, channel_axis=0)(
      KEY, jnp.moveaxis(rgb, -1, 0))
  assert chw.shape == (3, 6, 6)
  np.testing.assert_allclose(jnp.moveaxis(chw, 0, -1), hwc, atol=1e-5)
