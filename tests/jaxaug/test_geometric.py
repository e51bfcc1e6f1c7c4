"""Tests for the geometric ops (parity with numpy/scipy, fusion samplers)."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage
from scipy import stats

import jaxaug
from jaxaug._src import geometric


def _image(h=12, w=12, c=3, seed=0):
  return np.random.default_rng(seed).random((h, w, c)).astype(np.float32)


def _per_channel(fn, img):
  return np.stack([fn(img[..., c].astype(np.float64))
                   for c in range(img.shape[-1])], -1)


def test_flips_and_rot90_exact():
  img = _image(6, 9)
  np.testing.assert_array_equal(jaxaug.flip_left_right(img), img[:, ::-1])
  np.testing.assert_array_equal(jaxaug.flip_up_down(img), img[::-1])
  for k in (-1, 0, 1, 2, 3, 5):
    np.testing.assert_array_equal(jaxaug.rot90(img, k=k), np.rot90(img, k))
  key = jax.random.key(0)
  keys = jax.random.split(key, 16)
  flipped = np.asarray(jax.jit(jax.vmap(jaxaug.random_flip_left_right,
                                        in_axes=(0, None)))(keys, img))
  kinds = {bool(np.array_equal(f, img[:, ::-1])) for f in flipped}
  assert kinds == {True, False}
  for f in flipped:
    assert np.array_equal(f, img) or np.array_equal(f, img[:, ::-1])
  flip_ud = jax.jit(jaxaug.random_flip_up_down)
  never = flip_ud(key, img, probability=0.0)
  always = flip_ud(key, img, probability=1.0)
  np.testing.assert_array_equal(never, img)
  np.testing.assert_array_equal(always, img[::-1])
  sq = _image(6, 6)
  outs = list(np.asarray(jax.jit(jax.vmap(jaxaug.random_rot90, in_axes=(
      0, None)))(jax.random.split(key, 12), sq)))
  assert all(any(np.array_equal(o, np.rot90(sq, k)) for k in range(4))
             for o in outs)
  assert len({o.tobytes() for o in outs}) > 1


@pytest.mark.parametrize("order", [0, 1])
def test_rotate_matches_scipy(order):
  img = _image(13, 11)
  rot = jax.jit(jaxaug.rotate, static_argnames=("order", "mode"))
  for deg, mode, smode in [(17.0, "reflect", "reflect"),
                           (-33.0, "edge", "nearest"),
                           (50.0, "wrap", "grid-wrap"),
                           (-71.0, "constant", "grid-constant")]:
    ref = _per_channel(lambda x: ndimage.rotate(
        x, deg, reshape=False, order=order, mode=smode, cval=0.2), img)
    out = rot(img, math.radians(deg), order=order, mode=mode, cval=0.2)
    # Order 0 can round exactly-half positions differently; allow a few.
    bad = np.abs(np.asarray(out) - ref) > 1e-4
    assert bad.mean() <= (0.02 if order == 0 else 0.0), (deg, mode)


def test_rotate_identity_and_quarter_turn():
  img = _image(10, 10)
  rot = jax.jit(jaxaug.rotate)
  np.testing.assert_allclose(rot(img, 0.0), img, atol=1e-6)
  np.testing.assert_allclose(rot(img, math.pi / 2), np.rot90(img), atol=1e-5)
  np.testing.assert_allclose(jax.jit(jaxaug.affine_transform)(img, np.eye(3)),
                             img, atol=1e-6)


def test_affine_transform_matches_scipy():
  img = _image(11, 14)
  # Generic values: no output lands on an exact .5 tie (order 0 rounding
  # would then depend on float32 vs float64 arithmetic).
  m = np.array([[0.913, 0.217, 1.37], [-0.151, 1.093, -2.11], [0, 0, 1.0]])
  aff = jax.jit(jaxaug.affine_transform,
                static_argnames=("output_shape", "order", "mode"))
  for order in (0, 1):
    for mode, smode in [("reflect", "reflect"), ("wrap", "grid-wrap"),
                        ("constant", "grid-constant")]:
      ref = _per_channel(lambda x: ndimage.affine_transform(
          x, m, output_shape=(9, 16), order=order, mode=smode, cval=0.5),
                         img)
      out = aff(img, m[:2], output_shape=(9, 16), order=order, mode=mode,
                cval=0.5)
      np.testing.assert_allclose(out, ref, atol=1e-5,
                                 err_msg=f"{order} {mode}")


def test_translate_scale_shear_conventions():
  img = _image(12, 12)
  ref = _per_channel(lambda x: ndimage.shift(x, (1.5, -2.25), order=1,
                                             mode="grid-wrap"), img)
  tr = jax.jit(jaxaug.translate, static_argnames=("mode",))
  np.testing.assert_allclose(tr(img, (1.5, -2.25), mode="wrap"), ref,
                             atol=1e-5)
  # scale = zoom about the centre: matrix diag(1/f) about (H-1)/2.
  c = 5.5
  m = np.array([[0.8, 0, c - 0.8 * c], [0, 0.8, c - 0.8 * c], [0, 0, 1]])
  np.testing.assert_allclose(jax.jit(jaxaug.scale)(img, 1.25),
                             jax.jit(jaxaug.affine_transform)(img, m),
                             atol=1e-5)
  # Shear: a point at (r, c) moves to (r, c + s (r - cy)).
  dot = np.zeros((12, 12, 1), np.float32)
  dot[9, 5] = 1.0
  out = np.asarray(jaxaug.shear(dot, 1.0 / 3.5, order=0, mode="constant"))
  assert out[9, 6, 0] == 1.0 and out.sum() == 1.0


def test_resized_crop_separable_equals_general_path():
  img = _image(16, 20)
  box = jnp.array([2.3, 3.7, 9.5, 12.25])

  @jax.jit
  def both(img, box):
    outs = []
    for order in (0, 1, 3):
      fast = jaxaug.resized_crop(img, box, size=(7, 9), order=order)
      m = geometric.crop_matrix(box, (7, 9))
      slow = jaxaug.affine_transform(img, m, output_shape=(7, 9),
                                     order=order, mode="edge")
      outs.append((fast, slow))
    return outs

  for fast, slow in both(img, box):
    np.testing.assert_allclose(fast, slow, atol=1e-6)
  whole = jax.jit(jaxaug.resized_crop, static_argnames="size")(
      img, jnp.array([0.0, 0.0, 16.0, 20.0]), size=(16, 20))
  np.testing.assert_allclose(whole, img, atol=1e-6)


def test_crops_and_pad_exact():
  img = _image(10, 8)
  np.testing.assert_array_equal(jaxaug.center_crop(img, size=(4, 5)),
                                img[3:7, 1:6])
  key = jax.random.key(3)
  outs = list(np.asarray(jax.jit(jax.vmap(functools.partial(
      jaxaug.random_crop, size=(4, 5)), in_axes=(0, None)))(
          jax.random.split(key, 6), img)))
  windows = {img[t:t + 4, l:l + 5].tobytes() for t in range(7)
             for l in range(4)}
  assert all(o.tobytes() in windows for o in outs)
  assert len({o.tobytes() for o in outs}) > 1
  for mode, np_mode in [("reflect", "symmetric"), ("edge", "edge"),
                        ("wrap", "wrap")]:
    np.testing.assert_array_equal(
        jaxaug.pad(img, ((1, 2), (3, 0)), mode=mode),
        np.pad(img, ((1, 2), (3, 0), (0, 0)), mode=np_mode))
  np.testing.assert_array_equal(
      jaxaug.pad(img, 2, cval=0.5),
      np.pad(img, ((2, 2), (2, 2), (0, 0)), constant_values=0.5))


RANDOM_OPS = {
    "rotate": jaxaug.random_rotate,
    "scale": jaxaug.random_scale,
    "shear": jaxaug.random_shear,
    "translate": jaxaug.random_translate,
    "affine": functools.partial(jaxaug.random_affine, shear=(-0.2, 0.2),
                                translation_fraction=(-0.1, 0.1)),
    "resized_crop": functools.partial(jaxaug.random_resized_crop, size=10,
                                      order=3),
    "flip_lr": jaxaug.random_flip_left_right,
    "flip_ud": jaxaug.random_flip_up_down,
    "crop": functools.partial(jaxaug.random_crop, size=(9, 11)),
}


@pytest.mark.parametrize("name", list(RANDOM_OPS))
def test_random_op_sampler_jit_vmap_keys(name):
  fn = RANDOM_OPS[name]
  img = jnp.asarray(_image(12, 14))
  keys = jax.random.split(jax.random.key(7), 3)
  op = geometric.geometric_op(fn)
  assert op is not None

  @jax.jit
  def run(keys, img):
    batched = jax.vmap(fn, in_axes=(0, None))(keys, img)
    single = fn(keys[0], img)
    m, out_shape = op.sample(keys[0], img.shape[:2])
    via_matrix = geometric.apply_matrix(
        img, m, out_shape, order=op.order, mode=op.mode, cval=op.cval,
        axis_aligned=False)
    return batched, single, via_matrix, fn(keys[0], img.astype(jnp.bfloat16))

  batched, single, via_matrix, out16 = run(keys, img)
  eager = fn(keys[0], img)
  # jit and vmap fuse the matrix arithmetic differently from eager dispatch:
  # sampled coordinates can differ by float32 rounding (~1e-6 px), and the
  # bilinear values by as much.
  np.testing.assert_allclose(eager, single, atol=5e-6)
  np.testing.assert_allclose(batched[0], eager, atol=5e-6)
  np.testing.assert_allclose(via_matrix, eager, atol=1e-5)
  np.testing.assert_array_equal(run(keys, img)[1], single)  # same key
  if not name.startswith("flip"):  # a coin flip can repeat; others cannot
    assert not np.allclose(batched[1], batched[2])
  assert eager.dtype == img.dtype
  assert float(eager.min()) >= 0.0 and float(eager.max()) <= 1.0
  assert out16.dtype == jnp.bfloat16 and out16.shape == eager.shape


def test_gradients_wrt_image_and_magnitudes():
  img = jnp.asarray(_image(10, 10))

  @jax.jit
  def grads(img, angle, box, factor, offset, sh):
    f = lambda im, a, b, fa, o, s: (
        jnp.sum(jaxaug.rotate(im, a, order=3) ** 2) +
        jnp.sum(jaxaug.resized_crop(im, b, size=6) ** 2) +
        jnp.sum(jaxaug.scale(im, fa) ** 2) +
        jnp.sum(jaxaug.translate(im, o, mode="constant") ** 2) +
        jnp.sum(jaxaug.shear(im, s) ** 2))
    return jax.grad(f, argnums=range(6))(img, angle, box, factor, offset, sh)

  g = grads(img, 0.3, jnp.array([1.2, 0.7, 6.5, 7.0]), 1.2,
            jnp.array([0.5, -1.3]), 0.2)
  for x in g:
    assert np.all(np.isfinite(x)) and float(jnp.abs(x).sum()) > 0
  # Degenerate magnitudes stay finite: zero-area box, zero scale.
  g = grads(img, 0.0, jnp.zeros(4), 0.0, jnp.zeros(2), 0.0)
  for x in g:
    assert np.all(np.isfinite(x))


def test_resized_crop_box_distribution():
  keys = jax.random.split(jax.random.key(11), 2000)
  sample = jax.jit(jax.vmap(lambda k, a: geometric.sample_resized_crop_box(
      k, (64, 80), area=a), in_axes=(0, None)))
  # Ranges where every attempt fits: the exact requested distributions.
  boxes = np.asarray(sample(keys, jnp.array([0.08, 0.5])))
  frac = boxes[:, 2] * boxes[:, 3] / (64 * 80)
  log_aspect = np.log(boxes[:, 3] / boxes[:, 2])
  assert stats.kstest(frac, stats.uniform(0.08, 0.42).cdf).pvalue > 1e-3
  lo, hi = math.log(3 / 4), math.log(4 / 3)
  assert stats.kstest(log_aspect,
                      stats.uniform(lo, hi - lo).cdf).pvalue > 1e-3
  assert np.all(boxes[:, :2] >= -1e-4)
  assert np.all(boxes[:, 0] + boxes[:, 2] <= 64 + 1e-3)
  assert np.all(boxes[:, 1] + boxes[:, 3] <= 80 + 1e-3)
  # Default ranges: still inside the requested ranges, boxes in the image.
  boxes = np.asarray(sample(keys, jnp.array([0.08, 1.0])))
  frac = boxes[:, 2] * boxes[:, 3] / (64 * 80)
  log_aspect = np.log(boxes[:, 3] / boxes[:, 2])
  assert np.all((frac >= 0.08 - 1e-5) & (frac <= 1 + 1e-5))
  assert np.all((log_aspect >= lo - 1e-5) & (log_aspect <= hi + 1e-5))
  assert np.all(boxes[:, 0] + boxes[:, 2] <= 64 + 1e-3)
  assert 0.4 < frac.mean() < 0.6
  # Fallback (nothing fits): central crop, aspect clipped like torchvision.
  box = geometric.sample_resized_crop_box(jax.random.key(0), (10, 40),
                                          area=(1.0, 1.0))
  np.testing.assert_allclose(box, [0.0, (40 - 40 / 3) / 2, 10.0, 40 / 3],
                             rtol=1e-5)


def test_bad_inputs():
  img = _image()
  key = jax.random.key(0)
  with pytest.raises(ValueError, match="image"):
    jaxaug.rotate(img[..., 0], 0.1)
  with pytest.raises(TypeError, match="image"):
    jaxaug.flip_left_right(img.astype(np.uint8))
  with pytest.raises(ValueError, match="probability"):
    jaxaug.random_flip_left_right(key, img, probability=1.5)
  with pytest.raises(ValueError, match="size"):
    jaxaug.random_crop(key, img, size=13)
  with pytest.raises(ValueError, match="size"):
    jaxaug.center_crop(img, size=(4, 20))
  with pytest.raises(ValueError, match="size"):
    jaxaug.random_resized_crop(key, img, size=0)
  with pytest.raises(ValueError, match="matrix"):
    jaxaug.affine_transform(img, np.eye(4))
  with pytest.raises(ValueError, match="box"):
    jaxaug.resized_crop(img, (0, 0, 4), size=4)
  with pytest.raises(ValueError, match="area"):
    jaxaug.random_resized_crop(key, img, size=4, area=(0.5, 1.5))
  with pytest.raises(ValueError, match="padding"):
    jaxaug.pad(img, -1)
  with pytest.raises(ValueError, match="mode"):
    jaxaug.rotate(img, 0.1, mode="bogus")
  with pytest.raises(TypeError, match="key"):
    jaxaug.random_rotate(3, img)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("key_fn", [jax.random.key, jax.random.PRNGKey])
def test_random_crop_under_x64(dtype, key_fn):
  # Regression: a Python 0 index became int64 next to int32 offsets, and
  # dynamic_slice refused the mix under jax_enable_x64.
  previous = jax.config.jax_enable_x64
  jax.config.update("jax_enable_x64", True)
  try:
    img = _image(8, 9).astype(dtype)
    out = jaxaug.random_crop(key_fn(0), jnp.asarray(img), size=(5, 4))
    assert out.shape == (5, 4, 3)
    assert out.dtype == jnp.asarray(img).dtype
    # The crop is a window of the image.
    found = any(np.array_equal(np.asarray(out), img[t:t + 5, l:l + 4])
                for t in range(4) for l in range(6))
    assert found
    jitted = jax.jit(functools.partial(jaxaug.random_crop, size=3))
    assert jitted(key_fn(1), jnp.asarray(img)).shape == (3, 3, 3)
  finally:
    jax.config.update("jax_enable_x64", previous)


@pytest.mark.parametrize("call,arg", [
    (lambda img, v: jaxaug.rotate(img, v), "angle"),
    (lambda img, v: jaxaug.shear(img, v), "shear"),
    (lambda img, v: jaxaug.translate(img, (v, 0.0)), "translation"),
    (lambda img, v: jaxaug.translate(img, v), "translation"),
    (lambda img, v: jaxaug.affine_transform(
        img, jnp.array([[1.0, 0.0, v], [0.0, 1.0, 0.0]])), "matrix"),
    (lambda img, v: jaxaug.resized_crop(img, (0.0, 0.0, v, 4.0), size=4),
     "box"),
])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_parameter_raises(call, arg, bad):
  # Regression: NaN/inf angles, shears and shifts gave a constant image.
  img = _image()
  with pytest.raises(ValueError, match=f"{arg} must be finite"):
    call(img, bad)
  # Traced values pass unchecked (no error under jit).
  assert jax.jit(call)(img, 0.5).shape[-1] == 3


def test_non_finite_message_shows_value():
  with pytest.raises(ValueError, match=r"angle must be finite, got nan"):
    jaxaug.rotate(_image(), float("nan"))
  with pytest.raises(ValueError, match=r"translation must be finite, got "
                     r"\[inf, 0.0\]"):
    jaxaug.translate(_image(), (float("inf"), 0))


@pytest.mark.parametrize("call", [
    lambda img, **kw: jaxaug.rotate(img, 0.3, **kw),
    lambda img, **kw: jaxaug.flip_left_right(img, **kw),
    lambda img, **kw: jaxaug.random_crop(jax.random.key(0), img, size=3,
                                         **kw),
])
def test_bad_channel_axis_raises(call):
  # Regression: channel_axis=5 on a rank-3 image acted as -1 (5 % 3 == 2),
  # and channel_axis=1.5 failed with "'float' object is not iterable".
  img = _image(6, 7)
  for axis in (3, 5, 9, -4):
    with pytest.raises(ValueError, match="channel_axis"):
      call(img, channel_axis=axis)
  for axis in (1.5, -1.0, True, "0"):
    with pytest.raises(TypeError, match="channel_axis"):
      call(img, channel_axis=axis)
  # Valid axes still work, in both signs and as NumPy ints.
  chw = np.moveaxis(img, -1, 0)
  np.testing.assert_array_equal(
      call(chw, channel_axis=0), call(chw, channel_axis=np.int64(-3)))
  np.testing.assert_array_equal(
      np.moveaxis(np.asarray(call(chw, channel_axis=0)), 0, -1),
      call(img, channel_axis=2))


def test_bad_channel_axis_presets_and_normalize():
  with pytest.raises(ValueError, match="channel_axis"):
    jaxaug.presets.simclr(4, channel_axis=3)
  with pytest.raises(TypeError, match="channel_axis"):
    jaxaug.presets.simclr(4, channel_axis=0.5)
  with pytest.raises(ValueError, match="channel_axis"):
    jaxaug.normalize(_image(), 0.5, 0.2, channel_axis=3)


@pytest.mark.parametrize("size", [(2.5, 2), (2, 2.5), 2.0, (3.0, 3),
                                  (True, 2), np.float32(3)])
def test_non_integer_size_raises(size):
  # Regression: random_crop(size=(2.5, 2)) cropped (2, 2) silently.
  img = _image()
  with pytest.raises(TypeError, match="size"):
    jaxaug.random_crop(jax.random.key(0), img, size=size)
  with pytest.raises(TypeError, match="size"):
    jaxaug.center_crop(img, size=size)
  with pytest.raises(TypeError, match="size"):
    jaxaug.random_resized_crop(jax.random.key(0), img, size=size)


def test_integer_sizes_still_accepted():
  img = _image()
  for size, hw in ((3, (3, 3)), ((3, 4), (3, 4)), ([3, 4], (3, 4)),
                   (np.array([3, 4]), (3, 4)), ((np.int32(3), 4), (3, 4))):
    out = jaxaug.random_crop(jax.random.key(0), img, size=size)
    assert out.shape[:2] == hw
  with pytest.raises(ValueError, match="size"):
    jaxaug.center_crop(img, size=(1, 2, 3))
