"""Gaussian random field sampling throughput and random field augmentations.

Covariance everywhere: squared exponential C(r) = exp(-r^2 / (2 l^2)), l = 16
pixels, unit variance, non-periodic. The FFT samplers pad the grid by
`pad = ceil(3 l)` pixels per axis (correlation across the wrap-around
exp(-4.5) ~ 0.011), rounded up to an FFT-friendly size (prime factors <= 7,
as jaxaug does: 64 -> 112, 224 -> 280), sample on the padded grid and crop.

Samplers:
- jaxaug: `jaxaug.fields.gaussian_random_field(..., pad=48)` under
  `jit(vmap(...))` over keys (same grid as the others), and "jaxaug_default_pad"
  with jaxaug's own padding (`pad=None`: where C(r) < 1e-3, ~3.7 l; see
  `jaxaug.fields.gaussian_random_field`); its records carry
  `padded_side: None`, the grid being jaxaug's choice.
- jax_fft: a bare batched two-FFT sampler written here (white noise -> rfft2 ->
  multiply by sqrt(S) -> irfft2 -> crop), the floor a library can reach.
- numpy_fft: the same in numpy (float64, `numpy.fft`), one batched call.
- powerbox: `powerbox.PowerBox` (numpy, one field per `delta_x()` call) and
  `powerbox.jax.PowerBox` (`delta_x(key=...)` under `jit(vmap(...))`); the
  spectrum P(k) = 2 pi l^2 exp(-k^2 l^2 / 2) (angular k, volume-normalised), on
  the same padded grid. powerbox zeroes the k = 0 mode, so its marginal variance
  is ~0.85 instead of 1 at 64x64.
- gstools: `SRF(Gaussian(dim=2, var=1, len_scale=sqrt(2) l, rescale=1))` (the
  same C(r)), its default randomisation method ("RandMeth", 1000 modes, no
  padding needed) and its "Fourier" generator (period = padded side, 32 modes
  per axis). It runs at a few fields per second, so a handful of fields is
  timed and the rate extrapolated (noted in each record).

Costs ("field_costs" records): peak temporaries of
`jit(vmap(random_field_warp))` and `jit(vmap(random_field_color))` at 224x224,
batch 32, "mild" magnitudes, as a multiple of the image batch's bytes (XLA's
`compile().memory_analysis().temp_size_in_bytes`); and the time of jaxaug's
GRF (256 fields of 64x64, default padding, l = 8 and 16 px) over one
`jnp.fft.irfft2` of a (256, 64, 64) spectrum, medians of alternating calls.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from research.benchmarks import common

LENGTH_SCALE = 16.0


def pad_width(length_scale: float = LENGTH_SCALE) -> int:
  return math.ceil(3 * length_scale)


def _fft_friendly(n: int) -> int:
  """Smallest m >= n with no prime factor above 7 (jaxaug rounds the same way)."""
  m = n
  while True:
    r = m
    for q in (2, 3, 5, 7):
      while r % q == 0:
        r //= q
    if r == 1:
      return m
    m += 1


def padded_side(n: int, length_scale: float = LENGTH_SCALE) -> int:
  """Side of the padded FFT grid shared by all FFT samplers (64 -> 112, 224 -> 280)."""
  return _fft_friendly(n + pad_width(length_scale))


def _sqrt_spectrum(p: int, length_scale: float, xp) -> Any:
  """sqrt(S(k)) on the rfft2 grid, normalised so the field has unit variance."""
  ky = xp.fft.fftfreq(p)[:, None]
  kx = xp.fft.rfftfreq(p)[None, :]
  s = xp.exp(-2 * math.pi ** 2 * length_scale ** 2 * (ky ** 2 + kx ** 2))
  # Full-grid mean of S, counting the mirrored half of the rfft axis.
  full = xp.exp(-2 * math.pi ** 2 * length_scale ** 2 *
                (xp.fft.fftfreq(p)[:, None] ** 2 + xp.fft.fftfreq(p)[None, :] ** 2))
  return xp.sqrt(s / xp.mean(full))


def jax_fft_sampler(n: int, *, length_scale: float = LENGTH_SCALE
                    ) -> Callable[[jax.Array, int], jax.Array]:
  """Bare batched JAX sampler: `fn(key, count) -> (count, n, n)` (jitted)."""
  p = padded_side(n, length_scale)
  amp = _sqrt_spectrum(p, length_scale, np).astype(np.float32)

  def sample(key, count):
    w = jax.random.normal(key, (count, p, p), jnp.float32)
    f = jnp.fft.irfft2(jnp.fft.rfft2(w) * amp, s=(p, p))
    return f[:, :n, :n]

  return jax.jit(sample, static_argnums=1)


def numpy_fft_sampler(n: int, *, length_scale: float = LENGTH_SCALE
                      ) -> Callable[[int, int], np.ndarray]:
  """Bare batched numpy sampler: `fn(seed, count) -> (count, n, n)`."""
  p = padded_side(n, length_scale)
  amp = _sqrt_spectrum(p, length_scale, np)

  def sample(seed, count):
    w = np.random.default_rng(seed).standard_normal((count, p, p))
    return np.fft.irfft2(np.fft.rfft2(w) * amp, s=(p, p))[:, :n, :n]

  return sample


def jaxaug_sampler(n: int, *, length_scale: float = LENGTH_SCALE,
                   default_pad: bool = False
                   ) -> Callable[[jax.Array, int], jax.Array]:
  """jaxaug's sampler, vmapped over split keys: `fn(key, count)` (jitted).

  With `default_pad=False` the padding is forced to `pad_width` so the grid is
  the one the other FFT samplers use; otherwise jaxaug picks it (~3.7 l).
  """
  from jaxaug import fields
  pad = None if default_pad else pad_width(length_scale)

  def sample(key, count):
    keys = jax.random.split(key, count)
    return jax.vmap(lambda k: fields.gaussian_random_field(
        k, (n, n), length_scale=length_scale, spectrum='gaussian',
        periodic=False, pad=pad))(keys)

  return jax.jit(sample, static_argnums=1)


def _powerbox_pk(length_scale: float, xp):
  # Fourier transform of exp(-r^2 / 2 l^2) in 2-D, angular wavenumbers.
  return lambda k: 2 * math.pi * length_scale ** 2 * xp.exp(
      -(k * length_scale) ** 2 / 2)


def powerbox_jax_sampler(n: int, *, length_scale: float = LENGTH_SCALE
                         ) -> Callable[[jax.Array, int], jax.Array]:
  import powerbox.jax as pbj
  p = padded_side(n, length_scale)
  box = pbj.PowerBox(shape=(p, p), pk=_powerbox_pk(length_scale, jnp),
                     size=(float(p), float(p)), usejit=True)

  def sample(key, count):
    keys = jax.random.split(key, count)
    return jax.vmap(lambda k: box.delta_x(key=k)[:n, :n])(keys)

  return jax.jit(sample, static_argnums=1)


def powerbox_numpy_sampler(n: int, *, length_scale: float = LENGTH_SCALE
                           ) -> Callable[[int, int], np.ndarray]:
  import powerbox
  p = padded_side(n, length_scale)
  box = powerbox.PowerBox(shape=(p, p), pk=_powerbox_pk(length_scale, np),
                          size=(float(p), float(p)), seed=0, nthreads=1)

  def sample(seed, count):
    del seed  # the box carries its own generator state
    return np.stack([box.delta_x()[:n, :n] for _ in range(count)])

  return sample


def gstools_sampler(n: int, generator: str, *,
                    length_scale: float = LENGTH_SCALE
                    ) -> Callable[[int, int], np.ndarray]:
  import gstools as gs
  model = gs.Gaussian(dim=2, var=1.0, len_scale=math.sqrt(2) * length_scale,
                      rescale=1.0)
  kwargs = {}
  if generator == 'Fourier':
    p = padded_side(n, length_scale)
    kwargs = {'period': [p, p], 'mode_no': [32, 32]}
  srf = gs.SRF(model, generator=generator, **kwargs)
  x = np.arange(n, dtype=np.float64)

  def sample(seed, count):
    return np.stack([srf.structured([x, x], seed=seed * count + i + 1,
                                    store=False) for i in range(count)])

  return sample


def _bench_sampler(library: str, fn: Callable[[Any, int], Any], *, n: int,
                   count: int, total: int, repetitions: int, is_jax: bool,
                   notes: str = '') -> common.Measurement:
  """Fields/s; `count` fields are drawn per call, `total` is the nominal batch."""
  base = jax.random.key(0)
  arg = (lambda i: jax.random.fold_in(base, i)) if is_jax else (lambda i: i)
  seconds, times, first = common.time_calls(lambda i: fn(arg(i), count),
                                            repetitions=repetitions)
  if count < total:
    notes = (notes + ' ' if notes else '') + (
        f'timed {count} fields per call and extrapolated to {total}')
  return common.Measurement(
      benchmark='fields', name=f'grf_{n}', library=library,
      value=common.rate(count, seconds), unit='fields/s', seconds=seconds,
      repetitions=repetitions, items=count,
      params={'size': n, 'batch': total, 'fields_per_call': count,
              'length_scale': LENGTH_SCALE,
              # The shared FFT grid; jaxaug's own choice has none to report.
              'padded_side': (None if library == 'jaxaug_default_pad'
                              else padded_side(n)),
              'first_call_s': first, 'times_s': times},
      notes=notes)


def _field_aug(n: int, which: str) -> Callable[[jax.Array, jax.Array], Any]:
  import jaxaug
  ls = n / 4
  warp = dict(rotation=0.1, scale=0.1, shear=0.05, translation=0.02 * n,
              length_scale=ls)
  color = dict(hue=0.02, saturation=0.2, brightness=0.2, contrast=0.2,
               length_scale=ls)

  def one(key, image):
    k1, k2 = jax.random.split(key)
    if which in ('warp', 'warp+color'):
      image = jaxaug.random_field_warp(k1, image, **warp)
    if which in ('color', 'warp+color'):
      image = jaxaug.random_field_color(k2, image, **color)
    return image

  def batched(key, images):
    return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)

  return jax.jit(batched)


# Settings of the memory measurement: the "mild" preset's magnitudes at
# 224x224 (translation 1% of the side, length scale a quarter of the side).
MILD_WARP = dict(rotation=0.06, scale=0.05, shear=0.05)
MILD_COLOR = dict(hue=0.02, saturation=0.15, brightness=0.08, contrast=0.08)


def temporaries(n: int, batch: int) -> list[common.Measurement]:
  """Peak temporaries of jit(vmap(random_field_warp / _color)) / batch bytes.

  From XLA's `compile().memory_analysis()`: `temp_size_in_bytes` (scratch
  live at the peak, excluding the arguments and the output) divided by the
  bytes of the float32 `(batch, n, n, 3)` image batch.
  """
  import jaxaug
  images = jax.random.uniform(jax.random.key(3), (batch, n, n, 3))
  keys = jax.random.split(jax.random.key(0), batch)
  ops = {
      'warp': lambda k, x: jaxaug.random_field_warp(
          k, x, translation=0.01 * n, **MILD_WARP),
      'color': lambda k, x: jaxaug.random_field_color(k, x, **MILD_COLOR),
  }
  out = []
  for which, op in ops.items():
    t0 = time.perf_counter()
    mem = jax.jit(jax.vmap(op)).lower(keys, images).compile().memory_analysis()
    seconds = time.perf_counter() - t0
    out.append(common.Measurement(
        benchmark='field_costs', name=f'{which}_temporaries_{n}',
        library='jaxaug', value=mem.temp_size_in_bytes / images.nbytes,
        unit='x batch', seconds=seconds, repetitions=1, items=batch,
        params={'size': n, 'batch': batch,
                'temp_bytes': int(mem.temp_size_in_bytes),
                'batch_bytes': int(images.nbytes), 'length_scale': n / 4,
                'magnitudes': (MILD_COLOR if which == 'color' else
                               dict(MILD_WARP, translation=0.01 * n))},
        notes='seconds: lower + compile'))
  return out


def grf_over_irfft(n: int, count: int, length_scale: float,
                   repetitions: int) -> common.Measurement:
  """Time of jaxaug's GRF (`count` fields, default padding and method) over
  one `jnp.fft.irfft2` of a `(count, n, n)` spectrum, same process.

  Both jitted; the calls alternate (one of each per round) so that load
  changes hit both; the ratio is of the medians over `repetitions` rounds.
  """
  from jaxaug import fields
  grf = jax.jit(lambda k: fields.gaussian_random_field(
      k, (n, n), length_scale=length_scale, channels=count))
  spec = jnp.fft.rfft2(jax.random.normal(jax.random.key(1), (count, n, n)))
  irfft = jax.jit(lambda s: jnp.fft.irfft2(s, s=(n, n)))
  key = jax.random.key(2)
  common.block(grf(key))
  common.block(irfft(spec))
  t_grf, t_irfft = [], []
  for i in range(repetitions):
    k = jax.random.fold_in(key, i)
    t0 = time.perf_counter()
    common.block(grf(k))
    t_grf.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    common.block(irfft(spec))
    t_irfft.append(time.perf_counter() - t0)
  g, f = float(np.median(t_grf)), float(np.median(t_irfft))
  return common.Measurement(
      benchmark='field_costs', name=f'grf_over_irfft_{n}_l{length_scale:g}',
      library='jaxaug', value=g / f, unit='x irfft', seconds=g,
      repetitions=repetitions, items=count,
      params={'size': n, 'fields': count, 'length_scale': length_scale,
              'grf_s': g, 'irfft_s': f, 'grf_times_s': t_grf,
              'irfft_times_s': t_irfft})


def run(*, quick: bool, log: Callable[[str], None] = print) -> list[Any]:
  out: list[Any] = []
  if quick:
    sizes = [(16, 4, 1, 1)]  # side, batch, repetitions, gstools fields
    aug_sizes = [(16, 4, 1)]
  else:
    sizes = [(64, 256, 3, 3), (224, 256, 2, 1)]
    # 224x224 augmentation batch kept at 32 to bound time here.
    aug_sizes = [(64, 256, 3), (224, 32, 2)]

  for n, batch, reps, g_count in sizes:
    jobs = [
        ('jaxaug', lambda: jaxaug_sampler(n), batch, True),
        ('jaxaug_default_pad', lambda: jaxaug_sampler(n, default_pad=True),
         batch, True),
        ('jax_fft', lambda: jax_fft_sampler(n), batch, True),
        ('powerbox_jax', lambda: powerbox_jax_sampler(n), batch, True),
        ('numpy_fft', lambda: numpy_fft_sampler(n), batch, False),
        ('powerbox_numpy', lambda: powerbox_numpy_sampler(n),
         batch if n <= 64 else max(1, batch // 8), False),
        ('gstools_randmeth', lambda: gstools_sampler(n, 'RandMeth'),
         g_count, False),
        ('gstools_fourier', lambda: gstools_sampler(n, 'Fourier'),
         g_count, False),
    ]
    if quick:  # the default-padding variant only costs another compile
      jobs = [j for j in jobs if j[0] != 'jaxaug_default_pad']
    for library, make, count, is_jax in jobs:
      try:
        r = reps if count == batch else max(1, min(reps, 2))
        m = _bench_sampler(library, make(), n=n, count=count, total=batch,
                           repetitions=r, is_jax=is_jax)
      except Exception as e:  # pylint: disable=broad-except
        out.append({'benchmark': 'fields', 'name': f'grf_{n}',
                    'library': library, 'error': f'{type(e).__name__}: {e}'})
        log(f'  grf {n} {library}: FAILED {type(e).__name__}: {e}')
        continue
      out.append(m)
      log(f'  grf {n}x{n} {library:16s} {m.value:12.1f} fields/s')

  for n, batch, reps in aug_sizes:
    images = jax.random.uniform(jax.random.key(3), (batch, n, n, 3))
    # Quick mode and 224x224 compile only the combined op.
    for which in (('warp+color',) if quick or n > 64
                  else ('warp', 'color', 'warp+color')):
      try:
        fn = _field_aug(n, which)
        base = jax.random.key(4)
        seconds, times, first = common.time_calls(
            lambda i: fn(jax.random.fold_in(base, i), images),
            repetitions=reps)
      except Exception as e:  # pylint: disable=broad-except
        out.append({'benchmark': 'field_augment', 'name': f'{which}_{n}',
                    'library': 'jaxaug', 'error': f'{type(e).__name__}: {e}'})
        log(f'  field aug {which} {n}: FAILED {type(e).__name__}: {e}')
        continue
      m = common.Measurement(
          benchmark='field_augment', name=f'{which}_{n}', library='jaxaug',
          value=common.rate(batch, seconds), unit='images/s', seconds=seconds,
          repetitions=reps, items=batch,
          params={'size': n, 'batch': batch, 'length_scale': n / 4,
                  'first_call_s': first, 'times_s': times})
      out.append(m)
      log(f'  field aug {which:10s} {n}x{n} b{batch} {m.value:10.1f} images/s')

  # Memory and sampling cost (issue 16): temporaries of the warp / colour at
  # 224x224 as a multiple of the batch, GRF time over one irfft2.
  mem_size, mem_batch = (32, 2) if quick else (224, 32)
  grf_size, grf_count, grf_reps = (32, 8, 3) if quick else (64, 256, 15)
  try:
    for m in temporaries(mem_size, mem_batch):
      out.append(m)
      log(f'  {m.name:28s} {m.value:6.2f}x the batch')
    for ls in (8.0, 16.0):
      m = grf_over_irfft(grf_size, grf_count, ls, grf_reps)
      out.append(m)
      log(f'  {m.name:28s} {m.value:6.2f}x one irfft2')
  except Exception as e:  # pylint: disable=broad-except
    out.append({'benchmark': 'field_costs', 'name': 'field_costs',
                'library': 'jaxaug', 'error': f'{type(e).__name__}: {e}'})
    log(f'  field costs: FAILED {type(e).__name__}: {e}')
  return out
