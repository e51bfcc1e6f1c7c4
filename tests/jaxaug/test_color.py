"""Tests for jaxaug colour ops: references colorsys, dm_pix, PIL and numpy."""

import colorsys

import dm_pix
import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
from PIL import ImageEnhance
from PIL import ImageOps
import pytest

import jaxaug
from jaxaug._src import color as color_lib


def _image(seed=0, shape=(8, 8, 3)):
  """Random image with the awkward pixels in it: grey, black, white, ties."""
  x = np.random.default_rng(seed).uniform(size=shape).astype(np.float32)
  if shape[-1] == 3:
    x[0, 0] = 0.5          # grey
    x[0, 1] = 0.           # black
    x[0, 2] = 1.           # white
    x[0, 3] = (0.7, 0.7, 0.2)  # red/green tie
    x[0, 4] = (0.3, 0.6, 0.6)  # green/blue tie
    x[0, 5] = (0.9, 0.1, 0.9)  # red/blue tie
  return x


def _uint8_image(seed=0, shape=(16, 16, 3)):
  rng = np.random.default_rng(seed)
  u = rng.integers(0, 256, shape).astype(np.uint8)
  if shape[-1] > 1:
    u[..., 1] = u[..., 1] // 5 + 60   # a narrow channel
  return u


# --------------------------------------------------------------------------
# HSV conversions vs colorsys.


def test_rgb_to_hsv_matches_colorsys():
  x = _image()
  hsv = np.asarray(jaxaug.rgb_to_hsv(x))
  ref = np.array([colorsys.rgb_to_hsv(*p) for p in x.reshape(-1, 3)
                  .astype(np.float64)]).reshape(x.shape)
  dh = np.abs(hsv[..., 0] - ref[..., 0])
  np.testing.assert_array_less(np.minimum(dh, 1 - dh), 1e-5)
  np.testing.assert_allclose(hsv[..., 1:], ref[..., 1:], atol=1e-6)
  assert np.all((hsv[..., 0] >= 0) & (hsv[..., 0] < 1))


def test_hsv_to_rgb_matches_colorsys_and_round_trips():
  rng = np.random.default_rng(1)
  hsv = rng.uniform(size=(8, 8, 3)).astype(np.float32)
  hsv[0, :, 1] = 0.  # grey
  hsv[1, :, 0] = np.linspace(0, 1, 8, endpoint=False)  # every sector
  rgb = np.asarray(jaxaug.hsv_to_rgb(hsv))
  ref = np.array([colorsys.hsv_to_rgb(*p) for p in hsv.reshape(-1, 3)
                  .astype(np.float64)]).reshape(hsv.shape)
  np.testing.assert_allclose(rgb, ref, atol=1e-6)
  x = _image()
  np.testing.assert_allclose(jaxaug.hsv_to_rgb(jaxaug.rgb_to_hsv(x)), x,
                             atol=1e-6)


def test_hsv_gradients_finite_on_grey_black_white():
  x = jnp.asarray(_image())
  for img in (x, jnp.zeros_like(x), jnp.ones_like(x), jnp.full_like(x, .5)):
    g = jax.grad(lambda im: jnp.sum(jaxaug.rgb_to_hsv(im) ** 2))(img)
    g2 = jax.grad(lambda im: jnp.sum(jaxaug.hsv_to_rgb(im)))(img)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(g2))


# --------------------------------------------------------------------------
# Parity with dm_pix (dm_pix does not clip: we compare with its clipped
# result, the only convention difference).

DM_PIX_CASES = [
    ("brightness+", lambda x: jaxaug.adjust_brightness(x, 0.15),
     lambda x: dm_pix.adjust_brightness(x, 0.15)),
    ("brightness-", lambda x: jaxaug.adjust_brightness(x, -0.3),
     lambda x: dm_pix.adjust_brightness(x, -0.3)),
    ("contrast<1", lambda x: jaxaug.adjust_contrast(x, 0.4),
     lambda x: dm_pix.adjust_contrast(x, 0.4)),
    ("contrast>1", lambda x: jaxaug.adjust_contrast(x, 1.7),
     lambda x: dm_pix.adjust_contrast(x, 1.7)),
    ("saturation<1", lambda x: jaxaug.adjust_saturation(x, 0.3),
     lambda x: dm_pix.adjust_saturation(x, 0.3)),
    ("saturation>1", lambda x: jaxaug.adjust_saturation(x, 2.5),
     lambda x: dm_pix.adjust_saturation(x, 2.5)),
    ("saturation0", lambda x: jaxaug.adjust_saturation(x, 0.),
     lambda x: dm_pix.adjust_saturation(x, 0.)),
    ("hue+", lambda x: jaxaug.adjust_hue(x, 0.3),
     lambda x: dm_pix.adjust_hue(x, 0.3)),
    ("hue-", lambda x: jaxaug.adjust_hue(x, -0.45),
     lambda x: dm_pix.adjust_hue(x, -0.45)),
    ("gamma<1", lambda x: jaxaug.adjust_gamma(x, 0.6),
     lambda x: dm_pix.adjust_gamma(x, 0.6)),
    ("gamma>1", lambda x: jaxaug.adjust_gamma(x, 1.8, gain=0.9),
     lambda x: dm_pix.adjust_gamma(x, 1.8, gain=0.9)),
    ("grayscale", lambda x: jaxaug.rgb_to_grayscale(x),
     lambda x: dm_pix.rgb_to_grayscale(x, keep_dims=True)),
    ("grayscale1", lambda x: jaxaug.rgb_to_grayscale(x, keep_channels=False),
     lambda x: dm_pix.rgb_to_grayscale(x)),
]


def test_matches_dm_pix():
  x = _image()
  for name, ours, theirs in DM_PIX_CASES:
    out = np.asarray(ours(x))
    ref = np.clip(np.asarray(theirs(jnp.asarray(x))), 0., 1.)
    assert out.shape == ref.shape, name
    np.testing.assert_allclose(out, ref, atol=1e-5, err_msg=name)


# --------------------------------------------------------------------------
# PIL ops on 8-bit-valued images.


def test_equalize_matches_pil_exactly():
  u = _uint8_image()
  u[..., 2] = 77  # constant channel: PIL leaves it unchanged
  out = np.asarray(jaxaug.equalize(jnp.asarray(u / 255., jnp.float32)))
  ref = np.asarray(ImageOps.equalize(Image.fromarray(u)))
  np.testing.assert_array_equal(np.round(out * 255).astype(np.uint8), ref)
  # Grey (L-mode) image, one channel, through vmap too.
  g = _uint8_image(3, (12, 10, 1))
  ref_g = np.asarray(ImageOps.equalize(Image.fromarray(g[..., 0])))
  out_g = jax.vmap(jaxaug.equalize)(jnp.asarray(g / 255., jnp.float32)[None])
  np.testing.assert_array_equal(np.round(np.asarray(out_g[0, ..., 0]) * 255),
                                ref_g)


def test_posterize_matches_pil():
  u = _uint8_image()
  for bits in (1, 3, 8):
    out = np.asarray(jaxaug.posterize(jnp.asarray(u / 255., jnp.float32),
                                      bits))
    ref = np.asarray(ImageOps.posterize(Image.fromarray(u), bits))
    np.testing.assert_array_equal(np.round(out * 255).astype(np.uint8), ref)


def test_posterize_traced_bits_matches_static():
  x = jnp.asarray(_uint8_image() / 255., jnp.float32)
  bits = jnp.array([1, 2, 5, 8])
  traced = jax.vmap(jaxaug.posterize, in_axes=(None, 0))(x, bits)
  for i, b in enumerate([1, 2, 5, 8]):
    np.testing.assert_array_equal(traced[i], jaxaug.posterize(x, b))


def test_solarize_and_invert_match_pil():
  u = _uint8_image()
  x = jnp.asarray(u / 255., jnp.float32)
  for threshold in (0, 100, 128, 255):
    out = np.asarray(jaxaug.solarize(x, threshold=threshold / 255.))
    ref = np.asarray(ImageOps.solarize(Image.fromarray(u), threshold))
    np.testing.assert_array_equal(np.round(out * 255).astype(np.uint8), ref)
  np.testing.assert_array_equal(
      np.round(np.asarray(jaxaug.invert(x)) * 255).astype(np.uint8),
      np.asarray(ImageOps.invert(Image.fromarray(u))))


def test_autocontrast_matches_numpy_and_pil():
  u = _uint8_image()
  u[..., 2] = 200  # constant channel stays unchanged
  x = u / 255.
  out = np.asarray(jaxaug.autocontrast(jnp.asarray(x, jnp.float32)))
  lo, hi = x.min(axis=(0, 1)), x.max(axis=(0, 1))
  ref = np.where(hi > lo, (x - lo) / np.where(hi > lo, hi - lo, 1), x)
  np.testing.assert_allclose(out, ref, atol=1e-6)
  # PIL truncates its 8-bit lookup table: at most one level below ours.
  pil = np.asarray(ImageOps.autocontrast(Image.fromarray(u))) / 255.
  diff = out - pil
  assert np.all(diff > -1e-6) and np.all(diff < 1 / 255 + 1e-6)
  assert out[..., 0].min() == 0 and out[..., 0].max() == 1


def _sharpness_numpy(x, f):
  x = x.astype(np.float64)
  smooth = x.copy()
  k = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]]) / 13.
  h, w = x.shape[:2]
  acc = np.zeros_like(x[1:-1, 1:-1])
  for dy in range(3):
    for dx in range(3):
      acc += k[dy, dx] * x[dy:h - 2 + dy, dx:w - 2 + dx]
  smooth[1:-1, 1:-1] = acc
  return np.clip(smooth + f * (x - smooth), 0, 1)


def test_adjust_sharpness_matches_numpy_and_pil():
  u = _uint8_image()
  x = u / 255.
  for factor in (0., 0.5, 2.0):
    out = np.asarray(jaxaug.adjust_sharpness(jnp.asarray(x, jnp.float32),
                                             factor))
    np.testing.assert_allclose(out, _sharpness_numpy(x, factor), atol=1e-5)
    # PIL rounds the smoothed image and truncates the blend to 8 bits.
    pil = np.asarray(ImageEnhance.Sharpness(Image.fromarray(u))
                     .enhance(factor)) / 255.
    assert np.abs(out - pil).max() < 2 / 255
    # Border pixels are untouched, as in PIL.
    np.testing.assert_array_equal(out[0], x[0].astype(np.float32))
    np.testing.assert_array_equal(out[:, -1], x[:, -1].astype(np.float32))


def test_sharpness_factor_one_is_identity():
  x = _image()
  np.testing.assert_array_equal(jaxaug.adjust_sharpness(x, 1.), x)


# --------------------------------------------------------------------------
# color_jitter.

_CJ = dict(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)


def _jitter_reference(x, order, f_b, f_c, f_s, d_h, convention="tf"):
  """color_jitter spelled out: the public adjust_* ops in `order`."""
  grey = x.shape[-1] == 1
  ops = {0: lambda y: jnp.clip(y * f_b, 0., 1.),
         1: lambda y: jaxaug.adjust_contrast(y, f_c, convention=convention),
         2: lambda y: y if grey else jaxaug.adjust_saturation(
             y, f_s, convention=convention),
         3: lambda y: y if grey else jaxaug.adjust_hue(y, d_h)}
  for op in np.asarray(order):
    x = ops[int(op)](x)
  return x


def test_color_jitter_matches_reference_composition():
  x = jnp.asarray(_image())
  keys = jax.random.split(jax.random.key(7), 4)
  outs = jax.jit(jax.vmap(lambda k: jnp.stack([
      jaxaug.color_jitter(k, x, **_CJ),
      jaxaug.color_jitter(k, x, **_CJ, random_order=False)])))(keys)
  for key, out in zip(keys, outs):
    order, *draws = color_lib._color_jitter_draws(key, *_CJ.values(),
                                                  jnp.float32)
    np.testing.assert_allclose(out[0], _jitter_reference(x, order, *draws),
                               atol=1e-5)
    np.testing.assert_allclose(out[1], _jitter_reference(x, range(4), *draws),
                               atol=1e-5)
  # Eager equals jit, same key same output.
  np.testing.assert_allclose(jaxaug.color_jitter(keys[0], x, **_CJ), outs[0, 0],
                             atol=2e-6)
  # Every one of the 24 orders, with factors that move every op.
  draws = [jnp.float32(v) for v in (1.6, 0.5, 1.7, 0.3)]
  orders = jnp.asarray(color_lib._ORDERS)
  got = jax.jit(jax.vmap(color_lib._color_steps,
                         in_axes=(None, 0, None, None, None, None)))(
                             x, orders, *draws)
  for order, out in zip(orders, got):
    np.testing.assert_allclose(out, _jitter_reference(x, order, *draws),
                               atol=1e-5, err_msg=str(order))
  # The order matters.
  assert len({np.asarray(o).tobytes() for o in got}) == 24


@pytest.mark.parametrize("convention,channels", [("torchvision", 3),
                                                 ("tf", 1),
                                                 ("torchvision", 1)])
def test_color_jitter_every_order_other_conventions(convention, channels):
  # The traced order runs the blend ops before the hue, the hue once, then
  # the blend ops after it: each of the 24 orders must equal the public ops
  # applied one after the other, in both conventions and on grey images.
  x = jnp.asarray(_image())
  if channels == 1:
    x = x[..., :1]
  draws = [jnp.float32(v) for v in (1.6, 0.5, 1.7, 0.3)]
  orders = jnp.asarray(color_lib._ORDERS)
  got = jax.jit(jax.vmap(
      lambda o: color_lib._color_steps(x, o, *draws, convention=convention)))(
          orders)
  for order, out in zip(orders, got):
    np.testing.assert_allclose(
        out, _jitter_reference(x, order, *draws, convention=convention),
        atol=1e-5, err_msg=str(order))
  # Brightness and contrast do not commute (clips): orders differ.
  assert len({np.asarray(o).tobytes() for o in got}) > 1


def test_color_jitter_draw_ranges():
  keys = jax.random.split(jax.random.key(1), 256)
  order, f_b, f_c, f_s, d_h = jax.vmap(
      lambda k: color_lib._color_jitter_draws(k, 1.5, 0.8, 0., 0.3,
                                              jnp.float32))(keys)
  np.testing.assert_array_equal(np.sort(order, axis=1),
                                np.tile(np.arange(4), (256, 1)))
  assert len({tuple(o) for o in np.asarray(order)}) == 24
  assert f_b.min() >= 0. and f_b.max() <= 2.5 and f_b.min() < 0.3
  assert f_c.min() >= 0.2 and f_c.max() <= 1.8 and f_c.max() > 1.6
  np.testing.assert_array_equal(f_s, 1.)
  assert d_h.min() >= -0.3 and d_h.max() <= 0.3 and d_h.min() < -0.25


@pytest.mark.parametrize("random_order", [True, False])
def test_color_jitter_zero_strengths_is_identity(random_order):
  x = jnp.asarray(_image())
  out = jaxaug.color_jitter(jax.random.key(3), x, random_order=random_order)
  np.testing.assert_array_equal(out, x)
  # Also with traced (all-zero) strengths under jit.
  fn = jax.jit(lambda k, s: jaxaug.color_jitter(
      k, x, brightness=s, contrast=s, saturation=s, hue=s,
      random_order=random_order))
  np.testing.assert_array_equal(fn(jax.random.key(4), 0.), x)


def test_color_jitter_single_ops():
  x = jnp.asarray(_image()) * 0.5  # no clipping for brightness factors <= 2
  keys = jax.random.split(jax.random.key(0), 16)
  out = jax.jit(jax.vmap(
      lambda k: jaxaug.color_jitter(k, x, brightness=0.8)))(keys)
  mask = x > 0.05
  ratio = np.asarray(out)[:, mask] / np.asarray(x)[mask]
  # Same factor for every pixel: the other three ops are exact identities.
  np.testing.assert_allclose(ratio, ratio[:, :1].repeat(ratio.shape[1], 1),
                             rtol=1e-5)
  assert np.all(ratio >= 0.2 - 1e-6) and np.all(ratio <= 1.8 + 1e-6)
  assert np.unique(np.round(ratio[:, 0], 5)).size == 16
  # Hue only keeps saturation and value.
  x = jnp.asarray(_image())
  out = jaxaug.color_jitter(jax.random.key(1), x, hue=0.4)
  hsv_in, hsv_out = jaxaug.rgb_to_hsv(x), jaxaug.rgb_to_hsv(out)
  np.testing.assert_allclose(hsv_out[..., 1:], hsv_in[..., 1:], atol=1e-5)
  assert not np.allclose(hsv_out[..., 0], hsv_in[..., 0], atol=1e-3)


def test_color_jitter_gradients_wrt_strengths():
  x = jnp.asarray(_image())

  def loss(s):
    return jnp.sum(jaxaug.color_jitter(jax.random.key(0), x, brightness=s[0],
                                       contrast=s[1], saturation=s[2],
                                       hue=s[3]))

  g = jax.jit(jax.vmap(jax.grad(loss)))(
      jnp.array([[0., 0., 0., 0.], [0.8, 0.8, 0.8, 0.2]]))
  assert np.all(np.isfinite(g))


# --------------------------------------------------------------------------
# Generic properties: eager == jit == vmap, keys, gradients, dtypes.

DETERMINISTIC = {
    "brightness": (lambda x, m: jaxaug.adjust_brightness(x, m), 0.1),
    "contrast": (lambda x, m: jaxaug.adjust_contrast(x, m), 1.3),
    "saturation": (lambda x, m: jaxaug.adjust_saturation(x, m), 1.5),
    "hue": (lambda x, m: jaxaug.adjust_hue(x, m), 0.2),
    "gamma": (lambda x, m: jaxaug.adjust_gamma(x, m), 0.7),
    "gamma_gain": (lambda x, m: jaxaug.adjust_gamma(x, 1.2, gain=m), 1.1),
    "solarize": (lambda x, m: jaxaug.solarize(x, threshold=m), 0.4),
    "sharpness": (lambda x, m: jaxaug.adjust_sharpness(x, m), 1.8),
    "grayscale": (lambda x, m: jaxaug.rgb_to_grayscale(x) * m, 1.0),
    "hsv": (lambda x, m: jaxaug.hsv_to_rgb(jaxaug.rgb_to_hsv(x) * m), 0.9),
    "invert": (lambda x, m: jaxaug.invert(x) * m, 1.0),
    "autocontrast": (lambda x, m: jaxaug.autocontrast(x) * m, 1.0),
    "equalize": (lambda x, m: jaxaug.equalize(x) * m, 1.0),
    "posterize": (lambda x, m: jaxaug.posterize(x, 3) * m, 1.0),
}

RANDOM = {
    "random_brightness": lambda k, x: jaxaug.random_brightness(
        k, x, delta=(-0.3, 0.3)),
    "random_contrast": lambda k, x: jaxaug.random_contrast(
        k, x, factor=(0.5, 1.5)),
    "random_saturation": lambda k, x: jaxaug.random_saturation(
        k, x, factor=(0.2, 1.8)),
    "random_hue": lambda k, x: jaxaug.random_hue(k, x, delta=(-0.5, 0.5)),
    "random_gamma": lambda k, x: jaxaug.random_gamma(k, x, gamma=(0.5, 2.)),
    "random_grayscale": lambda k, x: jaxaug.random_grayscale(
        k, x, probability=0.5),
    "random_solarize": lambda k, x: jaxaug.random_solarize(
        k, x, threshold=0.3, probability=0.5),
    "random_sharpness": lambda k, x: jaxaug.random_sharpness(
        k, x, factor=(0., 2.)),
    "color_jitter": lambda k, x: jaxaug.color_jitter(
        k, x, brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2),
}


def test_deterministic_eager_jit_vmap_and_grads():
  # One compiled call for every op: values and gradients under vmap.
  x = jnp.asarray(_image())
  images = jnp.stack([x, jnp.zeros_like(x), jnp.ones_like(x),
                      jnp.full_like(x, 0.5)])
  names = sorted(DETERMINISTIC)

  def all_ops(im, mags):
    def loss(im, mm, fn):
      out = fn(im, mm)
      return jnp.sum(jnp.sin(3 * out)), out
    return {n: jax.grad(loss, argnums=(0, 1), has_aux=True)(
        im, mags[i], DETERMINISTIC[n][0]) for i, n in enumerate(names)}

  mags = jnp.array([[DETERMINISTIC[n][1] for n in names]] * 4, jnp.float32)
  results = jax.jit(jax.vmap(all_ops))(images, mags)
  for i, name in enumerate(names):
    fn, m = DETERMINISTIC[name]
    (gx, gm), vmapped = results[name]
    eager = fn(images[0], mags[0, i])
    np.testing.assert_allclose(vmapped[0], eager, atol=2e-6, err_msg=name)
    assert vmapped.shape == images.shape, name
    assert np.all((vmapped >= 0) & (vmapped <= 1)), name
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gm)), name


# color_jitter included: its random order runs as a lax.scan, so the image
# gradient under vmap compiles in seconds (it took minutes unrolled).
@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_ops_keys_jit_vmap(name):
  fn = RANDOM[name]
  x = jnp.asarray(_image())
  keys = jax.random.split(jax.random.key(42), 6)
  images = jnp.stack([x, jnp.zeros_like(x), jnp.ones_like(x),
                      jnp.full_like(x, .5)])
  # Gradients w.r.t. the image, grey/black/white images included.
  grad = jax.grad(lambda k, im: jnp.sum(jnp.sin(3 * fn(k, im))), argnums=1)
  vmapped, g = jax.jit(lambda ks, ims: (
      jax.vmap(fn, in_axes=(0, None))(ks, x), jax.vmap(grad)(ks[:4], ims)))(
          keys, images)
  eager = fn(keys[1], x)
  np.testing.assert_allclose(vmapped[1], eager, atol=2e-6)
  np.testing.assert_array_equal(fn(keys[1], x), eager)  # same key
  distinct = {np.asarray(o).tobytes() for o in vmapped}
  assert len(distinct) >= 2, name  # different keys, different outputs
  assert vmapped.shape == (6,) + x.shape and vmapped.dtype == x.dtype
  assert np.all((vmapped >= 0) & (vmapped <= 1))
  assert np.all(np.isfinite(g)), name


def test_dtype_shape_range_kept():
  dtype = jnp.bfloat16
  x = jnp.asarray(_image(), dtype)
  key = jax.random.key(0)
  outs = [fn(x, m) for fn, m in DETERMINISTIC.values()]
  outs += [fn(key, x) for fn in RANDOM.values()]
  for out in outs:
    assert out.shape == x.shape and out.dtype == dtype
    out = np.asarray(out.astype(jnp.float32))
    assert np.all((out >= 0) & (out <= 1))
  g = jaxaug.rgb_to_grayscale(x, keep_channels=False)
  assert g.shape == (8, 8, 1) and g.dtype == dtype


def test_per_channel_ops_accept_any_channel_count():
  x = jnp.asarray(_image(shape=(8, 8, 2)))
  for fn in (lambda a: jaxaug.adjust_brightness(a, .1),
             lambda a: jaxaug.adjust_contrast(a, .5),
             lambda a: jaxaug.adjust_gamma(a, 2.), jaxaug.invert,
             jaxaug.solarize, lambda a: jaxaug.posterize(a, 2),
             jaxaug.equalize, jaxaug.autocontrast,
             lambda a: jaxaug.adjust_sharpness(a, 2.)):
    assert fn(x).shape == x.shape
  # Per-channel: each channel processed independently of the other.
  np.testing.assert_allclose(jaxaug.equalize(x)[..., :1],
                             jaxaug.equalize(x[..., :1]), atol=0)


def test_channel_axis():
  x = jnp.asarray(_image())
  xc = jnp.moveaxis(x, -1, 0)
  for fn in (lambda a, **kw: jaxaug.adjust_hue(a, 0.3, **kw),
             lambda a, **kw: jaxaug.adjust_contrast(a, 0.5, **kw),
             lambda a, **kw: jaxaug.equalize(a, **kw)):
    np.testing.assert_allclose(fn(xc, channel_axis=0),
                               jnp.moveaxis(fn(x), -1, 0), atol=1e-6)


def test_per_pixel_hue_and_saturation():
  x = jnp.asarray(_image())
  delta = jnp.linspace(-0.5, 0.5, 64).reshape(8, 8)
  out = jaxaug.adjust_hue(x, delta)
  np.testing.assert_allclose(out[3, 5], jaxaug.adjust_hue(x, delta[3, 5])[3, 5],
                             atol=1e-6)
  f = jnp.linspace(0, 2, 64).reshape(8, 8)
  out = jaxaug.adjust_saturation(x, f)
  np.testing.assert_allclose(out[6, 1],
                             jaxaug.adjust_saturation(x, f[6, 1])[6, 1],
                             atol=1e-6)


# --------------------------------------------------------------------------
# Errors.


def test_bad_inputs_name_the_argument():
  x = jnp.asarray(_image())
  two = x[..., :2]
  key = jax.random.key(0)
  for fn in (lambda: jaxaug.adjust_hue(two, .1),
             lambda: jaxaug.adjust_saturation(two, 1.),
             lambda: jaxaug.rgb_to_hsv(two),
             lambda: jaxaug.rgb_to_grayscale(two),
             lambda: jaxaug.color_jitter(key, two, hue=.1)):
    with pytest.raises(ValueError, match="image.*3 channels"):
      fn()
  with pytest.raises(ValueError, match="image.*1 or 3 channels"):
    jaxaug.adjust_hue(two, .1)
  with pytest.raises(TypeError, match="image.*floating"):
    jaxaug.adjust_brightness(jnp.zeros((4, 4, 3), jnp.uint8), 0.1)
  with pytest.raises(ValueError, match="image.*rank 3"):
    jaxaug.adjust_contrast(x[0], 0.5)
  with pytest.raises(ValueError, match="factor"):
    jaxaug.adjust_saturation(x, -1.)
  with pytest.raises(ValueError, match="gamma"):
    jaxaug.adjust_gamma(x, -0.5)
  with pytest.raises(ValueError, match="bits"):
    jaxaug.posterize(x, 0)
  with pytest.raises(ValueError, match="probability"):
    jaxaug.random_grayscale(key, x, probability=1.5)
  with pytest.raises(ValueError, match="hue"):
    jaxaug.color_jitter(key, x, hue=0.7)
  with pytest.raises(ValueError, match="brightness"):
    jaxaug.color_jitter(key, x, brightness=-0.1)
  with pytest.raises(ValueError, match="delta"):
    jaxaug.random_hue(key, x, delta=(-0.6, 0.6))
  with pytest.raises(ValueError, match="convention"):
    jaxaug.adjust_contrast(x, 0.5, convention="pil")
  with pytest.raises(TypeError, match="key"):
    jaxaug.random_brightness(0, x)


@pytest.mark.parametrize("fn,arg", [
    (jaxaug.adjust_hue, "delta"),
    (jaxaug.adjust_brightness, "delta"),
    (jaxaug.adjust_contrast, "factor"),
    (jaxaug.adjust_sharpness, "factor"),
    (jaxaug.adjust_saturation, "factor"),
    (jaxaug.scale_brightness, "factor"),
    (jaxaug.adjust_gamma, "gamma"),
])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_parameter_raises(fn, arg, bad):
  # Regression: a concrete NaN gave an all-NaN image silently.
  img = _image()
  with pytest.raises(ValueError, match=arg):
    fn(img, bad)
  # Traced parameters are not checked (jit still works).
  out = jax.jit(fn)(img, 0.5)
  assert out.shape == img.shape


def test_non_finite_gain_and_nan_threshold_raise():
  img = _image()
  with pytest.raises(ValueError, match="gain must be finite, got nan"):
    jaxaug.adjust_gamma(img, 1.0, gain=np.nan)
  with pytest.raises(ValueError, match="threshold"):
    jaxaug.solarize(img, threshold=np.nan)
  # An infinite threshold stays valid: nothing is inverted.
  np.testing.assert_array_equal(jaxaug.solarize(img, threshold=np.inf), img)
  out = jax.jit(lambda x, t: jaxaug.solarize(x, threshold=t))(img, 0.5)
  assert out.shape == img.shape


@pytest.mark.parametrize("bits", [2.5, 2.0, True, np.float32(3), [2.5]])
def test_posterize_non_integer_bits_raise(bits):
  # Regression: posterize(x, 2.5) rounded silently.
  with pytest.raises(TypeError, match="bits"):
    jaxaug.posterize(_image(), bits)


def test_posterize_integer_bits_still_work():
  img = _image()
  for bits in (3, np.int64(3), jnp.array(3)):
    np.testing.assert_array_equal(jaxaug.posterize(img, bits),
                                  jaxaug.posterize(img, 3))
  # Traced bits (any dtype) are not checked.
  out = jax.jit(jaxaug.posterize)(img, 3.0)
  np.testing.assert_array_equal(out, jaxaug.posterize(img, 3))


def test_solarize_threshold_per_channel_and_bad_shape():
  x = jnp.linspace(0, 1, 4 * 4 * 3).reshape(4, 4, 3)
  t = jnp.array([0.2, 0.5, 0.8])
  out = jaxaug.solarize(x, threshold=t)
  expected = np.where(np.asarray(x) < np.asarray(t), x, 1 - np.asarray(x))
  np.testing.assert_allclose(out, expected, atol=1e-7)
  with pytest.raises(ValueError, match="threshold of shape"):
    jaxaug.solarize(x, threshold=jnp.zeros((4, 4, 3, 1)))
