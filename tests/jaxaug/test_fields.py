"""Statistical and API tests for jaxaug.fields (spectral Gaussian random fields)."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

from jaxaug import fields as F

N_FIELDS = 2000
SIZE = 64
LS = 4.0


@functools.lru_cache(maxsize=None)
def _batch(spectrum, nu, periodic=False, n=N_FIELDS):
  f = jax.jit(lambda k: F.gaussian_random_field(
      k, (SIZE, SIZE), length_scale=LS, spectrum=spectrum, nu=nu,
      periodic=periodic, channels=n))(jax.random.key(123))
  return np.asarray(f, np.float64)


@pytest.mark.parametrize("spectrum,nu,tol", [
    ("gaussian", 1.5, 0.02), ("matern", 0.5, 0.025), ("matern", 1.5, 0.02)])
def test_moments_and_correlation_match_closed_form(spectrum, nu, tol):
  f = _batch(spectrum, nu)
  n = f.shape[0]
  # Per-pixel mean over n samples has std 1/sqrt(n) = 0.022; the max over
  # 4096 pixels stays below ~4.5 std, so 5 std = 0.11 fails only if biased.
  assert np.abs(f.mean(0)).max() < 5 / math.sqrt(n)
  # Grand mean: Var = (1/n) mean_{x,y} C(x-y) <= 2 pi l^2 / (n * 64^2)
  # (both covariances integrate to 2 pi l^2 in 2-D): 5 std bound.
  assert abs(f.mean()) < 5 * math.sqrt(2 * math.pi * LS**2 / (n * SIZE**2))
  # Per-pixel variance estimate has std sqrt(2/n) = 0.032; 5 std max.
  assert np.abs(f.var(0) - 1.0).max() < 5 * math.sqrt(2 / n)
  # Grand variance: std ~ sqrt(2 int C^2 / (n 64^2)) ~ 0.004; 0.025 leaves
  # room for the one-sided pixel maximum above.
  assert abs((f**2).mean() - 1.0) < 0.025
  lags = [int(LS), int(2 * LS), int(3 * LS)]
  closed = np.asarray(F.covariance(np.asarray(lags, np.float32),
                                   length_scale=LS, spectrum=spectrum, nu=nu))
  for axis in (-1, -2):
    emp = np.asarray(F.sample_covariance(f, lags, axis=axis,
                                         correlation=True))
    # Sampling error of a lag correlation ~0.005 here; the rest of `tol` is
    # the lattice discretisation (largest for the rough nu = 0.5 field).
    np.testing.assert_allclose(emp, closed, atol=tol)
  # Opposite edges: no wrap-around correlation (their true correlation
  # C(63) is ~0); 1/sqrt(n * effective pixels) ~ 0.01 sampling error.
  assert abs(np.mean(f[:, :, 0] * f[:, :, -1])) < 0.04
  assert abs(np.mean(f[:, 0, :] * f[:, -1, :])) < 0.04


def test_periodic_edges_are_strongly_correlated():
  f = _batch("gaussian", 1.5, periodic=True, n=300)
  assert np.mean(f[:, :, 0] * f[:, :, -1]) > 0.8
  assert np.mean(f[:, 0, :] * f[:, -1, :]) > 0.8


def test_power_law_periodogram_slope():
  exponent = 3.0
  f = jax.jit(lambda k: F.gaussian_random_field(
      k, (SIZE, SIZE), length_scale=1.0, spectrum="power_law",
      exponent=exponent, periodic=True, channels=200))(jax.random.key(5))
  f = np.asarray(f, np.float64)
  power = (np.abs(np.fft.rfft2(f)) ** 2).mean(0)
  k = np.hypot(np.fft.fftfreq(SIZE)[:, None], np.fft.rfftfreq(SIZE)[None, :])
  sel = (k > 2 / SIZE) & (k < 0.45)
  slope = np.polyfit(np.log(k[sel]), np.log(power[sel]), 1)[0]
  # 200 fields: each bin's log power has std ~0.07; a fit over ~1600 bins
  # pins the slope to ~0.01.
  assert abs(slope + exponent) < 0.1
  # S(0) = 0: every field has zero spatial mean.
  np.testing.assert_allclose(f.mean(axis=(1, 2)), 0.0, atol=1e-5)


def test_anisotropy_and_rotation():
  shape, ls = (32, 32), (8.0, 2.0)
  sample = jax.jit(lambda k, a: F.gaussian_random_field(
      k, shape, length_scale=ls, angle=a, channels=400))
  f = np.asarray(sample(jax.random.key(1), 0.0))
  c0 = float(F.sample_covariance(f, 4, axis=-2, correlation=True)[0])
  c1 = float(F.sample_covariance(f, 4, axis=-1, correlation=True)[0])
  np.testing.assert_allclose([c0, c1], [math.exp(-16 / 128), math.exp(-2)],
                             atol=0.04)
  g = np.asarray(sample(jax.random.key(2), math.pi / 2))
  d0 = float(F.sample_covariance(g, 4, axis=-2, correlation=True)[0])
  d1 = float(F.sample_covariance(g, 4, axis=-1, correlation=True)[0])
  np.testing.assert_allclose([d0, d1], [c1, c0], atol=0.05)


def test_per_example_length_scales_under_vmap():
  lss = jnp.asarray([2.0, 6.0])
  keys = jax.random.split(jax.random.key(9), 2)
  f = jax.jit(jax.vmap(lambda k, l: F.gaussian_random_field(
      k, (48, 48), length_scale=l, channels=300, max_length_scale=6.0)))(
          keys, lss)
  for i, ls in enumerate([2, 6]):
    corr = float(F.sample_covariance(f[i], ls, axis=-1, correlation=True)[0])
    np.testing.assert_allclose(corr, math.exp(-0.5), atol=0.04)
    np.testing.assert_allclose(float(jnp.mean(f[i] ** 2)), 1.0, atol=0.06)


@pytest.mark.parametrize("shape,kw", [
    ((40,), dict(spectrum="matern", nu=1.5)),
    ((12, 10), dict(spectrum="gaussian", channels=3, periodic=True)),
    ((6, 8, 5), dict(spectrum="power_law"))])
def test_eager_jit_vmap_agree_and_keys(shape, kw):
  key = jax.random.key(0)
  fn = lambda k, l: F.gaussian_random_field(k, shape, length_scale=l, pad=4,
                                            **kw)
  # A jax.Array length scale plans the grid like a traced one (every mode
  # drawn), so eager, jit and vmap draw the same field.
  ls = jnp.asarray(2.5)
  eager = fn(key, ls)
  assert eager.shape == (kw.get("channels"),) * ("channels" in kw) + shape
  assert eager.dtype == jnp.float32
  np.testing.assert_allclose(jax.jit(fn)(key, ls), eager, atol=1e-5)
  keys = jax.random.split(key, 2)
  v = jax.vmap(fn)(keys, jnp.asarray([2.5, 2.5]))
  np.testing.assert_allclose(v[0], fn(keys[0], ls), atol=1e-5)
  np.testing.assert_array_equal(fn(key, ls), eager)
  assert not np.allclose(v[0], v[1])
  # A Python float is static (band-limited draw): eager == jit with it
  # closed over.
  static = fn(key, 2.5)
  np.testing.assert_allclose(jax.jit(lambda k: fn(k, 2.5))(key), static,
                             atol=1e-5)


def test_variance_scales_exactly_and_gradients_finite():
  key = jax.random.key(3)
  f1 = F.gaussian_random_field(key, (16, 16), length_scale=3.0)
  f4 = F.gaussian_random_field(key, (16, 16), length_scale=3.0, variance=4.0)
  np.testing.assert_allclose(f4, 2 * f1, rtol=1e-5, atol=1e-6)
  for spectrum in ("gaussian", "matern", "power_law"):
    g = jax.grad(lambda l, v: jnp.sum(F.gaussian_random_field(
        key, (16, 16), length_scale=l, variance=v, spectrum=spectrum, pad=8)
                                      ** 2), argnums=(0, 1))(3.0, 2.0)
    assert all(np.isfinite(x) for x in g)


def test_covariance_closed_forms_and_spectral_density():
  r = np.linspace(0.0, 20.0, 41)
  ls = 3.0
  for nu in (0.5, 0.8, 1.5, 2.5, 4.0):
    x = np.sqrt(2 * nu) * np.maximum(r, 1e-12) / ls
    ref = 2 ** (1 - nu) / scipy.special.gamma(nu) * x**nu * scipy.special.kv(
        nu, x)
    ref[0] = 1.0
    got = F.covariance(r, length_scale=ls, spectrum="matern", nu=nu)
    np.testing.assert_allclose(got, ref, atol=2e-5)
  np.testing.assert_allclose(
      F.covariance(r, length_scale=ls), np.exp(-r**2 / (2 * ls**2)), atol=1e-6)
  # Normalised densities integrate to C(0) = 1 (2-D Riemann sum).
  k = np.linspace(-2, 2, 801)
  kk = np.stack(np.meshgrid(k, k, indexing="ij"), -1).astype(np.float32)
  for spectrum in ("gaussian", "matern"):
    s = F.spectral_density(kk, length_scale=(3.0, 1.5), spectrum=spectrum,
                           nu=2.5)
    np.testing.assert_allclose(float(s.sum()) * (k[1] - k[0]) ** 2, 1.0,
                               atol=2e-3)


@pytest.mark.parametrize("kw,match", [
    (dict(shape=(0, 4), length_scale=1.0), "shape"),
    (dict(shape=(2, 2, 2, 2), length_scale=1.0), "shape"),
    (dict(shape=(8, 8), length_scale=0.0), "length_scale"),
    (dict(shape=(8, 8), length_scale=(1.0, 2.0, 3.0)), "length_scale"),
    (dict(shape=(8, 8), length_scale=1.0, variance=-1.0), "variance"),
    (dict(shape=(8, 8), length_scale=1.0, spectrum="cauchy"), "spectrum"),
    (dict(shape=(8, 8), length_scale=1.0, spectrum="matern", nu=0.0), "nu"),
    (dict(shape=(8,), length_scale=1.0, angle=0.3), "angle"),
    (dict(shape=(8,), length_scale=1.0, channels=0), "channels"),
])
def test_bad_inputs(kw, match):
  with pytest.raises(ValueError, match=match):
    F.gaussian_random_field(jax.random.key(0), **kw)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_angle_raises(bad):
  # Regression: angle=nan returned an all-NaN field.
  with pytest.raises(ValueError, match="angle must be finite"):
    F.gaussian_random_field(jax.random.key(0), (8, 8), length_scale=2.0,
                            angle=bad)
  # A traced angle is not checked.
  f = jax.jit(lambda a: F.gaussian_random_field(
      jax.random.key(0), (8, 8), length_scale=2.0, angle=a))(0.3)
  assert f.shape == (8, 8) and bool(jnp.all(jnp.isfinite(f)))
