"""convention="torchvision": parity with torchvision's published formulas.

torchvision is not a dependency: its colour formulas (torchvision.transforms
.functional on float tensors, `ColorJitter`) are written out in numpy below
from their documented definitions:

* grayscale: `0.2989 r + 0.587 g + 0.114 b`;
* blend(a, b, f) = `clip(f a + (1 - f) b, 0, 1)`;
* brightness: blend(image, 0, f); contrast: blend(image, mean grey level, f)
  (the mean of the grayscale image, or of the image if it is not RGB);
  saturation: blend(image, grayscale(image), f) (identity on 1 channel);
* hue: RGB -> HSV, `h = (h + delta) mod 1`, HSV -> RGB (identity on 1
  channel), with the sector-wise HSV formulas;
* ColorJitter: the four ops in a random permutation, factors uniform in
  `[max(0, 1 - s), 1 + s]`, hue delta uniform in `[-h, h]`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxaug
from jaxaug import presets
from jaxaug._src import color as color_lib


def _image(seed=0, shape=(8, 8, 3)):
  x = np.random.default_rng(seed).uniform(size=shape).astype(np.float32)
  if shape[-1] == 3:
    x[0, 0] = 0.5           # grey
    x[0, 1] = 0.            # black
    x[0, 2] = 1.            # white
    x[0, 3] = (0.7, 0.7, 0.2)  # ties
    x[0, 4] = (0.3, 0.6, 0.6)
  return x


# --------------------------------------------------------------------------
# torchvision's formulas in numpy (float64).


def tv_grayscale(x):
  if x.shape[-1] == 1:
    return x
  return (0.2989 * x[..., 0:1] + 0.587 * x[..., 1:2] + 0.114 * x[..., 2:3])


def tv_blend(a, b, f):
  return np.clip(f * a + (1.0 - f) * b, 0.0, 1.0)


def tv_brightness(x, f):
  return tv_blend(x, np.zeros_like(x), f)


def tv_contrast(x, f):
  mean = tv_grayscale(x).mean() if x.shape[-1] == 3 else x.mean()
  return tv_blend(x, mean, f)


def tv_saturation(x, f):
  if x.shape[-1] == 1:
    return x
  return tv_blend(x, tv_grayscale(x), f)


def tv_rgb_to_hsv(x):
  r, g, b = x[..., 0], x[..., 1], x[..., 2]
  maxc, minc = x.max(-1), x.min(-1)
  grey = maxc == minc
  cr = maxc - minc
  s = cr / np.where(grey, 1.0, maxc)
  div = np.where(grey, 1.0, cr)
  rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
  h = np.where(maxc == r, bc - gc,
               np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
  h = np.where(grey, 0.0, h)
  return np.stack([np.mod(h / 6.0 + 1.0, 1.0), s, maxc], -1)


def tv_hsv_to_rgb(hsv):
  h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
  i = np.floor(h * 6.0)
  f = h * 6.0 - i
  i = i.astype(np.int64) % 6
  p = np.clip(v * (1.0 - s), 0.0, 1.0)
  q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
  t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
  table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
  out = np.zeros(hsv.shape)
  for k, rgb in enumerate(table):
    out = np.where((i == k)[..., None], np.stack(rgb, -1), out)
  return out


def tv_hue(x, delta):
  if x.shape[-1] == 1:
    return x
  hsv = tv_rgb_to_hsv(x)
  hsv[..., 0] = np.mod(hsv[..., 0] + delta, 1.0)
  return tv_hsv_to_rgb(hsv)


def tv_color_jitter(x, order, f_b, f_c, f_s, d_h):
  ops = [lambda y: tv_brightness(y, f_b), lambda y: tv_contrast(y, f_c),
         lambda y: tv_saturation(y, f_s), lambda y: tv_hue(y, d_h)]
  for i in order:
    x = ops[int(i)](x)
  return x


# --------------------------------------------------------------------------
# Deterministic ops.

CASES = [
    ("brightness", lambda x: jaxaug.scale_brightness(x, 1.4),
     lambda x: tv_brightness(x, 1.4)),
    ("brightness0", lambda x: jaxaug.scale_brightness(x, 0.3),
     lambda x: tv_brightness(x, 0.3)),
    ("contrast", lambda x: jaxaug.adjust_contrast(
        x, 1.7, convention="torchvision"), lambda x: tv_contrast(x, 1.7)),
    ("contrast0", lambda x: jaxaug.adjust_contrast(
        x, 0.2, convention="torchvision"), lambda x: tv_contrast(x, 0.2)),
    ("saturation", lambda x: jaxaug.adjust_saturation(
        x, 2.5, convention="torchvision"), lambda x: tv_saturation(x, 2.5)),
    ("saturation0", lambda x: jaxaug.adjust_saturation(
        x, 0.0, convention="torchvision"), lambda x: tv_saturation(x, 0.0)),
    ("hue+", lambda x: jaxaug.adjust_hue(x, 0.3), lambda x: tv_hue(x, 0.3)),
    ("hue-", lambda x: jaxaug.adjust_hue(x, -0.45),
     lambda x: tv_hue(x, -0.45)),
    ("grayscale", lambda x: jaxaug.rgb_to_grayscale(x, keep_channels=False),
     tv_grayscale),
    ("hsv", jaxaug.rgb_to_hsv, tv_rgb_to_hsv),
]


@pytest.mark.parametrize("channels", [3, 1])
def test_deterministic_ops_match_torchvision_formulas(channels):
  x = _image(shape=(8, 8, channels))
  for name, ours, theirs in CASES:
    if channels == 1 and name == "hsv":
      continue
    out = np.asarray(ours(jnp.asarray(x)))
    ref = theirs(x.astype(np.float64))
    assert out.shape == ref.shape, name
    np.testing.assert_allclose(out, ref, atol=2e-6, err_msg=name)


def test_tf_and_torchvision_differ_where_documented():
  x = jnp.asarray(_image())
  for op in (jaxaug.adjust_contrast, jaxaug.adjust_saturation):
    tf = op(x, 1.5)
    tv = op(x, 1.5, convention="torchvision")
    assert not np.allclose(tf, tv, atol=1e-3), op.__name__
  # Additive brightness (tf.image) is not the multiplicative one.
  assert not np.allclose(jaxaug.adjust_brightness(x, 0.2),
                         jaxaug.scale_brightness(x, 1.2), atol=1e-3)


# --------------------------------------------------------------------------
# ColorJitter and the presets.

_CJ = dict(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)


@pytest.mark.parametrize("channels", [3, 1])
def test_color_jitter_matches_torchvision_color_jitter(channels):
  x = _image(shape=(8, 8, channels))
  keys = jax.random.split(jax.random.key(11), 6)
  run = jax.jit(jax.vmap(lambda k: jnp.stack([
      jaxaug.color_jitter(k, x, **_CJ, convention="torchvision"),
      jaxaug.color_jitter(k, x, **_CJ, convention="torchvision",
                          random_order=False)])))
  outs = run(keys)
  for key, out in zip(keys, outs):
    order, *draws = color_lib._color_jitter_draws(key, *_CJ.values(),
                                                  jnp.float32)
    draws = [float(d) for d in draws]
    xd = x.astype(np.float64)
    np.testing.assert_allclose(out[0], tv_color_jitter(xd, order, *draws),
                               atol=1e-5)
    np.testing.assert_allclose(out[1], tv_color_jitter(xd, range(4), *draws),
                               atol=1e-5)


def test_color_jitter_draws_follow_torchvision_ranges():
  keys = jax.random.split(jax.random.key(2), 512)
  order, f_b, _, _, d_h = jax.vmap(lambda k: color_lib._color_jitter_draws(
      k, 0.4, 0.4, 0.4, 0.1, jnp.float32))(keys)
  # A uniformly random permutation of the four ops, as torch.randperm(4).
  assert len({tuple(o) for o in np.asarray(order)}) == 24
  assert f_b.min() >= 0.6 and f_b.max() <= 1.4
  assert d_h.min() >= -0.1 and d_h.max() <= 0.1


def test_simclr_preset_takes_the_convention():
  x = jnp.asarray(_image(shape=(12, 12, 3)))
  keys = jax.random.split(jax.random.key(5), 24)
  tf = presets.simclr_cifar(12)
  tv = presets.simclr_cifar(12, convention="torchvision")
  out = jax.jit(jax.vmap(lambda k: jnp.stack([tf(k, x), tv(k, x)])))(keys)
  # Same crops and flips (same keys); the jitter differs when applied.
  differs = [not np.allclose(o[0], o[1], atol=1e-4) for o in out]
  assert any(differs) and not all(differs)
