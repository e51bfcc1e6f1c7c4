"""Tests for jaxaug.map_coordinates (parity with scipy.ndimage)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

import jaxaug
from jaxaug._src import resample

# jaxaug mode -> scipy.ndimage mode with the same boundary rule.
SCIPY_MODES = {"reflect": "reflect", "mirror": "mirror", "edge": "nearest",
               "nearest": "nearest", "wrap": "grid-wrap",
               "constant": "grid-constant"}


# One compiled function per static configuration keeps the tests fast (eager
# dispatch compiles every primitive separately).
_mc = jax.jit(resample.map_coordinates, static_argnames=("order", "mode"))
_sep = jax.jit(resample.resample_separable, static_argnames=("order", "mode"))


def _image(h=9, w=11, c=2, seed=0):
  return np.random.default_rng(seed).random((h, w, c)).astype(np.float32)


def _scipy(img, coords, order, mode, cval=0.0):
  return np.stack([
      ndimage.map_coordinates(img[..., c].astype(np.float64),
                              coords.astype(np.float64), order=order,
                              mode=SCIPY_MODES[mode], cval=cval)
      for c in range(img.shape[-1])
  ], -1)


@pytest.mark.parametrize("order", [0, 1])
def test_parity_with_scipy_interior(order):
  img = _image()
  rng = np.random.default_rng(1)
  coords = np.stack([rng.uniform(1, 7, (6, 5)), rng.uniform(1, 9, (6, 5))])
  coords = coords.astype(np.float32)
  out = _mc(img, coords, order=order)
  np.testing.assert_allclose(out, _scipy(img, coords, order, "reflect"),
                             atol=1e-5)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "edge", "nearest",
                                  "wrap", "constant"])
def test_parity_with_scipy_borders(mode):
  img = _image()
  rng = np.random.default_rng(2)
  # Far outside too: several periods of the reflect/wrap extension.
  coords = np.stack([rng.uniform(-20, 30, (40,)), rng.uniform(-25, 35, (40,))
                     ]).astype(np.float32)
  for order in (0, 1):
    out = _mc(img, coords, order=order, mode=mode, cval=0.3)
    np.testing.assert_allclose(out, _scipy(img, coords, order, mode, 0.3),
                               atol=1e-5, err_msg=f"order {order}")


def test_identity_grid_is_exact():
  img = _image()
  for order in (0, 1, 3):
    out = _mc(img, resample.identity_grid(9, 11), order=order)
    np.testing.assert_allclose(out, img, atol=1e-6)


def test_bicubic_interpolates_smooth_data_and_stays_in_range():
  # A smooth ramp: cubic convolution reproduces quadratics exactly-ish.
  yy, xx = np.mgrid[0:12, 0:12].astype(np.float32)
  img = (0.5 + 0.02 * (yy - 6) + 0.01 * (xx - 6))[..., None]
  coords = np.stack(np.meshgrid(np.linspace(2, 9, 7), np.linspace(2, 9, 5),
                                indexing="ij")).astype(np.float32)
  out = _mc(img, coords, order=3)
  ref = 0.5 + 0.02 * (coords[0] - 6) + 0.01 * (coords[1] - 6)
  np.testing.assert_allclose(out[..., 0], ref, atol=1e-5)
  noisy = _image(seed=3)
  out = _mc(noisy, coords * 1.3 - 2, order=3, mode="constant", cval=1.0)
  assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_nonfinite_coordinates_and_gradients():
  img = jnp.asarray(_image())
  bad = jnp.array([[jnp.nan, jnp.inf, -jnp.inf, 1e30, -1e30, 3.3],
                   [0.0, 1.0, 2.0, jnp.nan, 5.0, 4.7]])

  @jax.jit
  def all_modes(im, c):
    outs, grads = [], []
    for mode in ("reflect", "constant", "edge", "wrap"):
      for order in (0, 1, 3):
        outs.append(resample.map_coordinates(im, c, order=order, mode=mode))
    for mode, order in (("reflect", 1), ("constant", 3), ("wrap", 1)):
      f = lambda im, c, o=order, m=mode: jnp.sum(
          resample.map_coordinates(im, c, order=o, mode=m) ** 2)
      grads.append(jax.grad(f, argnums=(0, 1))(im, c))
    return outs, grads

  outs, grads = all_modes(img, bad)
  for out in outs:
    assert np.all(np.isfinite(out))
  for gi, gc in grads:
    assert np.all(np.isfinite(gi)) and np.all(np.isfinite(gc))
  gi, gc = grads[0]  # reflect, bilinear
  assert float(jnp.abs(gc[:, -1]).sum()) > 0  # a regular point moves
  assert float(jnp.abs(gi).sum()) > 0


def test_separable_equals_general_path():
  img = _image()
  rows = jnp.linspace(-3.2, 12.5, 7)
  cols = jnp.linspace(-2.1, 14.7, 5)
  grid = resample.grid_from_axes(rows, cols)
  for order in (0, 1, 3):
    for mode in ("reflect", "constant", "wrap"):
      a = _mc(img, grid, order=order, mode=mode, cval=0.4)
      b = _sep(img, rows, cols, order=order, mode=mode, cval=0.4)
      np.testing.assert_allclose(a, b, atol=1e-6, err_msg=f"{order} {mode}")


def test_eager_jit_vmap_dtype():
  img = jnp.asarray(_image(8, 8, 3))
  coords = resample.identity_grid(8, 8) * 0.9 + 0.37
  eager = jaxaug.map_coordinates(img, coords)
  jitted = jax.jit(jaxaug.map_coordinates)(img, coords)
  batched = jax.vmap(jaxaug.map_coordinates)(jnp.stack([img, img]),
                                             jnp.stack([coords, coords]))
  np.testing.assert_allclose(eager, jitted, atol=1e-6)
  np.testing.assert_allclose(batched[1], eager, atol=1e-6)
  out16 = _mc(img.astype(jnp.bfloat16), coords)
  assert out16.dtype == jnp.bfloat16 and out16.shape == (8, 8, 3)
  np.testing.assert_allclose(out16.astype(np.float32), eager, atol=1e-2)


def test_bad_inputs():
  img = _image()
  grid = resample.identity_grid(9, 11)
  with pytest.raises(ValueError, match="image"):
    jaxaug.map_coordinates(img[..., 0], grid)
  with pytest.raises(TypeError, match="image"):
    jaxaug.map_coordinates(img.astype(np.int32), grid)
  with pytest.raises(ValueError, match="coordinates"):
    jaxaug.map_coordinates(img, grid[:1])
  with pytest.raises(ValueError, match="order"):
    jaxaug.map_coordinates(img, grid, order=2)
  with pytest.raises(ValueError, match="mode"):
    jaxaug.map_coordinates(img, grid, mode="bogus")
  with pytest.raises(ValueError, match="cval"):
    jaxaug.map_coordinates(img, grid, mode="constant", cval=2.0)
