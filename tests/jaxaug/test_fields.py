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


# ----------------------------------------------------------------------------
# Band limit and the matmul evaluation (issue 16, item 3).


@pytest.mark.parametrize("shape,kw", [
    ((64, 64), dict(length_scale=4.0)),
    ((64, 64), dict(length_scale=8.0, channels=3)),
    ((64, 64), dict(length_scale=16.0)),
    ((96, 80), dict(length_scale=(12.0, 4.0), angle=0.7)),
    ((224, 224), dict(length_scale=56.0, channels=2)),
    ((200,), dict(length_scale=5.0, channels=2)),
    ((20, 18, 22), dict(length_scale=4.0)),
    ((48, 40), dict(length_scale=6.0, spectrum="matern", nu=2.5)),
])
def test_matmul_evaluation_equals_full_resolution_fft(shape, kw):
  # Same draws, evaluated on the output grid by matmuls and by the inverse
  # FFT of the padded grid: the same field up to float32 rounding.
  key = jax.random.key(4)
  fft = np.asarray(F.gaussian_random_field(key, shape, method="fft", **kw))
  mm = np.asarray(F.gaussian_random_field(key, shape, method="matmul", **kw))
  assert mm.shape == fft.shape and mm.dtype == fft.dtype
  scale = np.abs(fft).max()
  assert scale > 0.5
  np.testing.assert_allclose(mm, fft, atol=2e-6 * scale * math.sqrt(
      max(shape)))
  if kw.get("spectrum", "gaussian") == "gaussian" and min(
      np.atleast_1d(kw["length_scale"])) >= 4:
    # Smooth fields take the matmul path by default.
    auto = F.gaussian_random_field(key, shape, **kw)
    np.testing.assert_array_equal(auto, mm)


@pytest.mark.parametrize("shape,kw", [
    ((64, 64), dict(length_scale=4.0)),
    ((64, 64), dict(length_scale=8.0)),
    ((64, 64), dict(length_scale=16.0)),
    ((64, 64), dict(length_scale=(8.0, 3.0), angle=0.5)),
    ((256,), dict(length_scale=4.0)),
    ((24, 24, 24), dict(length_scale=4.0)),
])
def test_band_leaves_out_at_most_the_stated_variance(shape, kw):
  # A periodic field is the inverse FFT of the modes drawn: its DFT shows
  # which modes were drawn. The band is chosen so that the continuous
  # gaussian spectrum beyond it holds 1e-6 of the variance; summed over the
  # lattice modes never drawn it is 1.0-1.3e-6 here (2e-6 bound). The band
  # must also be a small part of the lattice (else there is nothing to gain).
  f = np.asarray(F.gaussian_random_field(jax.random.key(0), shape,
                                         periodic=True, channels=3, **kw),
                 np.float64)
  spec = np.abs(np.fft.fftn(f, axes=range(1, f.ndim))).max(axis=0)
  drawn = spec > 1e-5 * spec.max()
  k = np.stack(np.meshgrid(*[np.fft.fftfreq(n) for n in shape],
                           indexing="ij"), -1).astype(np.float32)
  s = np.asarray(F.spectral_density(k, **kw), np.float64)
  left_out = s[~drawn].sum() / s.sum()
  assert left_out <= 2e-6
  assert drawn.mean() < (0.15 if len(shape) > 1 else 0.45)


def test_gaussian_band_cutoff_tail():
  from jaxaug._src import fields as fields_src
  for ndim in (1, 2, 3):
    kappa = fields_src._gaussian_cutoff(ndim, 1e-6)
    x = 2 * math.pi**2 * kappa**2
    np.testing.assert_allclose(scipy.special.gammaincc(ndim / 2, x), 1e-6,
                               rtol=1e-6)


def test_matmul_method_jit_vmap_and_gradients():
  # Traced per-example length scales with a static lower bound keep the
  # band limit (and the matmul path).
  key = jax.random.key(7)
  fn = lambda k, l: F.gaussian_random_field(
      k, (40, 36), length_scale=l, min_length_scale=4.0, max_length_scale=8.0,
      method="matmul")
  ls = jnp.asarray(6.0)
  eager = fn(key, ls)
  np.testing.assert_allclose(jax.jit(fn)(key, ls), eager, atol=1e-5)
  keys = jax.random.split(key, 2)
  v = jax.jit(jax.vmap(fn))(keys, jnp.asarray([6.0, 4.0]))
  np.testing.assert_allclose(v[0], fn(keys[0], ls), atol=1e-5)
  np.testing.assert_allclose(
      fn(key, ls),
      F.gaussian_random_field(key, (40, 36), length_scale=ls,
                              min_length_scale=4.0, max_length_scale=8.0,
                              method="fft"), atol=2e-5)
  g = jax.grad(lambda l, v: jnp.sum(F.gaussian_random_field(
      key, (24, 24), length_scale=l, variance=v, min_length_scale=4.0,
      method="matmul") ** 2), argnums=(0, 1))(5.0, 2.0)
  assert all(np.isfinite(x) and x != 0 for x in g)
  for dtype in (jnp.float16, jnp.bfloat16):
    assert F.gaussian_random_field(key, (16, 16), length_scale=4.0,
                                   dtype=dtype).dtype == dtype


def test_bad_method():
  with pytest.raises(ValueError, match="method"):
    F.gaussian_random_field(jax.random.key(0), (8, 8), length_scale=2.0,
                            method="spline")
