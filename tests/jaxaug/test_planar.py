"""Planar execution inside `jaxaug.chain` (jaxaug._src.planar).

A run of colour/filter ops in a fused chain runs on channel planes; these
tests check that it gives the values of the same ops applied one by one with
the same keys (`chain(..., fuse=False)`), to float rounding, and that the
random draws are those of the interleaved implementation (reference values
recorded from the code before planar execution, commit 5885489).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxaug
from jaxaug import presets
from jaxaug._src import planar

_CJ = functools.partial(jaxaug.color_jitter, brightness=0.8, contrast=0.8,
                        saturation=0.8, hue=0.2)
_GREY = functools.partial(jaxaug.random_grayscale, probability=0.5)
_BLUR = functools.partial(jaxaug.random_gaussian_blur, sigma=(0.1, 2.0),
                          kernel_size=5)

PIPELINES = {
    "jitter_grey": (_CJ, _GREY),
    "simclr_colour": (jaxaug.with_probability(_CJ, 0.8), _GREY,
                      jaxaug.with_probability(_BLUR, 0.5)),
    "fixed_order_blur": (functools.partial(_CJ, random_order=False), _BLUR),
    "torchvision": (functools.partial(_CJ, convention="torchvision"), _GREY,
                    jaxaug.random_gaussian_blur),
    "blur_blur": (_BLUR, jaxaug.with_probability(_BLUR, 0.7)),
    "nested_gates": (
        jaxaug.with_probability(jaxaug.with_probability(_CJ, 0.6), 0.7),
        jaxaug.with_probability(_GREY, 0.5),
        jaxaug.with_probability(
            functools.partial(_CJ, convention="torchvision"), 0.5)),
}

# Float rounding: float32 to 1e-6; half precision to one unit in the last
# place at 1 (an intermediate rounded the other way).
_ATOL = {jnp.float32: 1e-6, jnp.bfloat16: 2.0**-7, jnp.float16: 2.0**-10}


def _images(n, channels, dtype, size=20, seed=0):
  x = np.random.default_rng(seed).uniform(size=(n, size, size + 3, channels))
  return jnp.asarray(x, dtype)


def _assert_close(a, b, dtype):
  assert a.dtype == b.dtype == jnp.dtype(dtype)
  np.testing.assert_allclose(np.asarray(a, np.float32),
                             np.asarray(b, np.float32), atol=_ATOL[dtype],
                             rtol=0)


def test_ops_have_planar_forms():
  for fns in PIPELINES.values():
    for fn in fns:
      assert planar.planar_op(fn) is not None, fn
  # A layout other than (H, W, C) is not planar: it runs op by op.
  assert planar.planar_op(functools.partial(_CJ, channel_axis=0)) is None
  assert planar.planar_op(jaxaug.random_rotate) is None
  assert planar.planar_op(functools.partial(jaxaug.color_jitter, 0.1)) is None


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_fused_matches_one_by_one_jit_vmap(name, channels, dtype):
  fns = PIPELINES[name]
  images = _images(6, channels, dtype)
  keys = jax.random.split(jax.random.key(1), 6)
  fused = jax.jit(jax.vmap(jaxaug.chain(*fns)))(keys, images)
  ref = jax.jit(jax.vmap(jaxaug.chain(*fns, fuse=False)))(keys, images)
  _assert_close(fused, ref, dtype)


@pytest.mark.parametrize("channels", [1, 3])
def test_fused_matches_one_by_one_eager(channels):
  # No jit, no vmap: `with_probability` takes one branch (lax.cond).
  image = _images(1, channels, jnp.float32)[0]
  fns = PIPELINES["simclr_colour"]
  for seed in range(4):
    key = jax.random.key(seed)
    _assert_close(jaxaug.chain(*fns)(key, image),
                  jaxaug.chain(*fns, fuse=False)(key, image), jnp.float32)


def test_fused_matches_manual_keys():
  # chain(fuse=False) itself against the ops called by hand.
  image = _images(1, 3, jnp.float32)[0]
  key = jax.random.key(5)
  fns = PIPELINES["simclr_colour"]
  keys = jax.random.split(key, len(fns))
  x = image
  for k, fn in zip(keys, fns):
    x = fn(k, x)
  _assert_close(jax.jit(jaxaug.chain(*fns))(key, image), x, jnp.float32)


def test_uint8_images():
  raw = np.random.default_rng(3).integers(0, 256, (4, 16, 16, 3), np.uint8)
  fns = PIPELINES["simclr_colour"]
  keys = jax.random.split(jax.random.key(2), 4)
  images = jaxaug.to_float(raw)
  fused = jax.jit(jax.vmap(jaxaug.chain(*fns)))(keys, images)
  ref = jax.jit(jax.vmap(jaxaug.chain(*fns, fuse=False)))(keys, images)
  _assert_close(fused, ref, jnp.float32)
  # Integer images are refused the same way, fused or not.
  for fuse in (True, False):
    with pytest.raises(TypeError, match="to_float"):
      jaxaug.chain(*fns, fuse=fuse)(keys[0], raw[0])


def test_gradient_matches_one_by_one():
  image = _images(1, 3, jnp.float32)[0]
  fns = PIPELINES["simclr_colour"]
  key = jax.random.key(4)

  def loss(fuse):
    return lambda x: jnp.sum(jaxaug.chain(*fns, fuse=fuse)(key, x) ** 2)

  g_fused = jax.jit(jax.grad(loss(True)))(image)
  g_ref = jax.jit(jax.grad(loss(False)))(image)
  assert np.all(np.isfinite(g_fused))
  np.testing.assert_allclose(g_fused, g_ref, atol=1e-5)


def test_channel_count_error():
  with pytest.raises(ValueError, match="1 or 3 channels"):
    jaxaug.chain(_CJ, _GREY)(jax.random.key(0), jnp.zeros((8, 8, 2)))
  # The blur takes any channel count, also on planes.
  images = _images(2, 4, jnp.float32)
  keys = jax.random.split(jax.random.key(0), 2)
  fns = PIPELINES["blur_blur"]
  _assert_close(jax.vmap(jaxaug.chain(*fns))(keys, images),
                jax.vmap(jaxaug.chain(*fns, fuse=False))(keys, images),
                jnp.float32)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("channels", [1, 3])
def test_simclr_preset_matches_one_by_one(channels, dtype):
  aug = presets.simclr(16)
  crop, flip, *rest = [fn for _, fn in aug.ops]
  # The geometric pair fused (as in the preset), the rest op by op.
  one_by_one = jaxaug.chain(jaxaug.chain(crop, flip),
                            jaxaug.chain(*rest, fuse=False))
  fused = jaxaug.chain(jaxaug.chain(crop, flip), jaxaug.chain(*rest))
  images = _images(6, channels, dtype, size=24)
  keys = jax.random.split(jax.random.key(9), 6)
  _assert_close(jax.jit(jax.vmap(fused))(keys, images),
                jax.jit(jax.vmap(one_by_one))(keys, images), dtype)


# Per-view channel means and standard deviations of
# `two_views(key(3), images, simclr(size))` recorded at commit 5885489
# (before planar execution; jax_threefry_partitionable=True as in conftest).
_REFERENCE = {
    24: ([[0.837356, 0.837356, 0.837356], [0.136276, 0.133617, 0.136759],
          [0.605281, 0.596555, 0.586950], [0.132455, 0.134224, 0.134679],
          [0.651357, 0.651357, 0.651357], [0.555477, 0.549288, 0.541604],
          [0.655978, 0.655978, 0.655978], [0.500958, 0.503596, 0.511741]],
         [[0.193579, 0.193579, 0.193579], [0.032743, 0.032043, 0.031115],
          [0.296950, 0.295151, 0.285697], [0.086000, 0.083486, 0.079930],
          [0.056668, 0.056668, 0.056668], [0.109466, 0.108856, 0.112033],
          [0.108316, 0.108316, 0.108316], [0.194508, 0.195083, 0.185441]]),
    40: ([[0.832894, 0.832894, 0.832894], [0.136093, 0.133416, 0.136214],
          [0.613137, 0.595759, 0.590122], [0.132908, 0.134058, 0.134433],
          [0.653222, 0.653222, 0.653222], [0.546422, 0.550627, 0.536756],
          [0.653677, 0.653677, 0.653677], [0.501174, 0.507437, 0.511512]],
         [[0.165326, 0.165326, 0.165326], [0.032006, 0.031746, 0.030875],
          [0.293421, 0.292656, 0.289016], [0.085157, 0.083009, 0.081861],
          [0.068021, 0.068021, 0.068021], [0.094681, 0.101818, 0.093249],
          [0.120399, 0.120399, 0.120399], [0.195794, 0.192402, 0.185709]]),
}


@pytest.mark.parametrize("size", [24, 40])
def test_simclr_draws_unchanged(size):
  images = np.random.default_rng(7).uniform(size=(4, 48, 48, 3)).astype(
      np.float32)
  v1, v2 = presets.two_views(jax.random.key(3), images, presets.simclr(size))
  views = np.concatenate([np.asarray(v1), np.asarray(v2)])
  mean, std = _REFERENCE[size]
  np.testing.assert_allclose(views.mean(axis=(1, 2)), mean, atol=2e-5)
  np.testing.assert_allclose(views.std(axis=(1, 2)), std, atol=2e-5)


@pytest.mark.parametrize("channels", [1, 3])
def test_gated_off_is_exact_identity(channels):
  # A gated-off op is switched to an exact identity (no select): p = 0
  # returns the images bit for bit, under vmap.
  fns = [jaxaug.with_probability(fn, 0.0) for fn in (_CJ, _GREY, _BLUR)]
  for fn in fns:
    assert planar.planar_op(fn).gated is not None
  images = _images(6, channels, jnp.float32)
  keys = jax.random.split(jax.random.key(3), 6)
  out = jax.jit(jax.vmap(jaxaug.chain(*fns)))(keys, images)
  np.testing.assert_array_equal(out, images)


def test_assemble_and_fused_chain_under_x64():
  # dynamic_update_slice needs one index dtype; assemble uses int32 for all,
  # with or without jax_enable_x64.
  previous = jax.config.jax_enable_x64
  jax.config.update("jax_enable_x64", True)
  try:
    planes = [jnp.full((2, 3), float(i)) for i in range(3)]
    np.testing.assert_array_equal(planar.assemble(planes),
                                  np.stack([np.asarray(p) for p in planes]))
    x = _images(1, 3, jnp.float32)[0]
    fused = jaxaug.chain(*PIPELINES["jitter_grey"])
    out = fused(jax.random.key(0), x)
    assert out.shape == x.shape and out.dtype == x.dtype
  finally:
    jax.config.update("jax_enable_x64", previous)
