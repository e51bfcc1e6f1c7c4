"""Linear filters: Gaussian blur.

One image `(H, W, C)` (or `channel_axis=`), float in [0, 1]; outputs keep
shape and dtype and stay in [0, 1]. The blur width `sigma` may be a traced
array (one value per example under `jax.vmap`); the kernel size is static.

Implementation note (performance). The blur runs on channel planes
`(C, H, W)` (see `jaxaug._src.planar`): each axis is padded once (scipy
"reflect") and the output is the sum of `kernel_size` shifted slices times
their weights, which XLA fuses into one vector loop per axis. Timed under
`jit(vmap)` with a per-example sigma on the 2-core CPU of the benchmarks
(224x224x3, 23 taps, per image, CPU time): the same sum on the interleaved
`(H, W, 3)` layout 3.2 ms (the stride-3 channel axis compiles into shuffles,
and the padded image was recomputed in three fusions), on planes 0.43 ms
including the two transposes (about 3x the 0.14 ms of its 6.9 M
multiply-adds at one core's peak). Earlier measurements on the interleaved
layout: banded `(H, H)` / `(W, W)` matrices applied by matmul 1.6x slower than
the slice sum, a depthwise `lax.conv_general_dilated` (dm_pix's approach)
about 20x slower. Inside `jaxaug.chain` a run of planar ops (colour jitter,
grayscale, blur) shares one transpose in and one out.
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxaug._src import checks
from jaxaug._src import planar

# Below this sigma (pixels) the kernel is a unit impulse: the Gaussian tails
# at distance >= 1 underflow to exactly 0 long before, and switching here keeps
# 1 / sigma out of the computation (no NaN/inf in value or gradient).
_MIN_SIGMA = 1e-4


def simclr_kernel_size(hw: tuple[int, int]) -> int:
  """SimCLR's blur kernel size for an image of spatial size `hw`.

  SimCLR (google-research/simclr, `data_util.random_blur`) uses a kernel of
  10% of the side: `kernel_size = side // 10`, `radius = kernel_size // 2`,
  `2 * radius + 1` taps (23 at 224 px, 3 at 32 px, 1 below 20 px). The
  smaller side is used for non-square images. The one place jaxaug computes
  this rule (`gaussian_blur`'s default and the SimCLR presets).
  """
  return 2 * ((min(hw[0], hw[1]) // 10) // 2) + 1


def _check_kernel_size(kernel_size, image_shape) -> int:
  if kernel_size is None:
    return simclr_kernel_size(image_shape[:2])
  if isinstance(kernel_size, bool) or not isinstance(
      kernel_size, (int, np.integer)):
    raise TypeError(f"kernel_size must be a static Python int, got "
                    f"{kernel_size!r}")
  if kernel_size <= 0 or kernel_size % 2 == 0:
    raise ValueError(f"kernel_size must be a positive odd int, got "
                     f"{kernel_size}")
  return int(kernel_size)


def _check_sigma(sigma) -> None:
  shape = np.shape(sigma)
  if shape not in ((), (1,), (2,)):
    raise ValueError(f"sigma must be a scalar or a (sigma_y, sigma_x) pair, "
                     f"got shape {shape}")
  checks.check_nonnegative(sigma, "sigma")


def gaussian_kernel_1d(sigma: ArrayLike, kernel_size: int,
                       dtype=jnp.float32) -> jax.Array:
  """Normalised sampled Gaussian `exp(-x^2 / 2 sigma^2)`, x = -r..r.

  `sigma = 0` (or any sigma below 1e-4) gives the unit impulse exactly;
  gradients w.r.t. sigma are finite everywhere.
  """
  radius = kernel_size // 2
  x = jnp.arange(-radius, radius + 1, dtype=dtype)
  sigma = jnp.asarray(sigma, dtype)
  wide = sigma > _MIN_SIGMA
  safe = jnp.where(wide, sigma, 1.)
  w = jnp.where(wide, jnp.exp(-0.5 * jnp.square(x / safe)),
                (x == 0).astype(dtype))
  return w / jnp.sum(w)


def _blur_axis(x: jax.Array, weights: jax.Array, axis: int) -> jax.Array:
  """Correlates `x` along `axis` with `weights`, scipy "reflect" boundary.

  Pads once (numpy "symmetric" = scipy "reflect": d c b a | a b c d, also for
  radii larger than the axis) and sums `k` shifted slices times their weight:
  XLA fuses the whole sum into one loop over the output, which on CPU is
  several times faster than a depthwise convolution (see the module notes).
  """
  k = weights.shape[0]
  radius = k // 2
  n = x.shape[axis]
  pad = [(0, 0)] * x.ndim
  pad[axis] = (radius, radius)
  # Materialised once: without the barrier XLA fused the padding into
  # each of the k slices that read it (3x slower at 23 taps).
  padded = jax.lax.optimization_barrier(jnp.pad(x, pad, mode="symmetric"))
  out = None
  for i in range(k):
    term = jax.lax.slice_in_dim(padded, i, i + n, axis=axis) * weights[i]
    out = term if out is None else out + term
  return out


def blur_planes(planes: jax.Array, sigma: ArrayLike,
                kernel_size: int) -> jax.Array:
  """Gaussian blur of `(C, H, W)` planes (height, then width), clipped.

  `sigma` is a scalar or a `(sigma_y, sigma_x)` pair (traced ok);
  `kernel_size` a static odd int. Same result as `gaussian_blur` on the
  transposed image.
  """
  if kernel_size == 1:
    return checks.clip(planes)
  dtype = planes.dtype
  sigma = jnp.broadcast_to(jnp.asarray(sigma, dtype).reshape(-1), (2,))
  w_y = gaussian_kernel_1d(sigma[0], kernel_size, dtype)
  w_x = gaussian_kernel_1d(sigma[1], kernel_size, dtype)
  return checks.clip(_blur_axis(_blur_axis(planes, w_y, 1), w_x, 2))


@functools.partial(jax.jit, static_argnums=2)
def _gaussian_blur(x: jax.Array, sigma: jax.Array, kernel_size: int
                   ) -> jax.Array:
  if kernel_size == 1:
    return x
  return planar.from_planes(blur_planes(planar.to_planes(x), sigma,
                                        kernel_size))


@checks.with_channel_axis
def gaussian_blur(image: ArrayLike, sigma: ArrayLike, *,
                  kernel_size: Optional[int] = None) -> jax.Array:
  """Separable Gaussian blur with a traced `sigma`.

  Correlates each channel with the sampled, normalised Gaussian
  `exp(-x^2 / 2 sigma^2)`, `x = -r..r`, `r = kernel_size // 2`, first along
  the height then along the width. The boundary is mirrored as
  `scipy.ndimage` mode "reflect" (d c b a | a b c d), so the result equals
  `scipy.ndimage.gaussian_filter(image, (sigma_y, sigma_x, 0),
  mode="reflect", truncate=r / sigma)`. `sigma = 0` returns the image
  exactly, with finite gradients.

  Args:
    image: `(H, W, C)` float image in [0, 1], any channel count.
    sigma: standard deviation in pixels, non-negative: a scalar, or a
      `(sigma_y, sigma_x)` pair; may be traced (per example under `vmap`).
    kernel_size: static odd number of taps per axis. Default: SimCLR's 10% of
      the smaller side, made odd (23 at 224 px, 3 at 32 px).

  Returns:
    The blurred image, same shape and dtype, in [0, 1].

  Raises:
    TypeError: non-float image or non-int `kernel_size`.
    ValueError: wrong rank, even or non-positive `kernel_size`, bad `sigma`
      shape, a concrete negative `sigma`, or a concrete image value outside
      [0, 1].

  Example:
    >>> blurred = gaussian_blur(jnp.ones((32, 32, 3)), 1.5, kernel_size=7)
  """
  _check_sigma(sigma)
  x, dtype = checks.image_in(image)
  kernel_size = _check_kernel_size(kernel_size, x.shape)
  return checks.image_out(_gaussian_blur(x, sigma, kernel_size), dtype)


@checks.with_channel_axis
def random_gaussian_blur(key: jax.Array, image: ArrayLike, *,
                         sigma: tuple[ArrayLike, ArrayLike] = (0.1, 2.0),
                         kernel_size: Optional[int] = None) -> jax.Array:
  """`gaussian_blur` with sigma drawn uniformly from the `sigma` interval.

  SimCLR's ImageNet recipe: `sigma=(0.1, 2.0)`, kernel 10% of the side
  (the default), applied with probability 0.5 (wrap in `with_probability`).

  Args:
    key: PRNG key (`jax.random.key`).
    image: `(H, W, C)` float image in [0, 1].
    sigma: `(low, high)` non-negative bounds in pixels (traced ok); the same
      sigma is used for both axes.
    kernel_size: static odd number of taps (default: 10% of the smaller side).

  Returns:
    The blurred image, same shape and dtype, in [0, 1].

  Raises:
    ValueError / TypeError: as `gaussian_blur`, or a bad `sigma` interval.

  Example:
    >>> out = random_gaussian_blur(jax.random.key(0), jnp.ones((32, 32, 3)))
  """
  checks.check_key(key)
  return gaussian_blur(image, _draw_sigma(key, sigma),
                       kernel_size=kernel_size)


def _draw_sigma(key: jax.Array, sigma) -> jax.Array:
  low, high = checks.check_interval(sigma, "sigma", 0.)
  return jax.random.uniform(key, (), jnp.float32,
                            jnp.asarray(low, jnp.float32),
                            jnp.asarray(high, jnp.float32))


def _random_blur_planar(*, sigma=(0.1, 2.0), kernel_size=None
                        ) -> planar.PlanarOp:
  checks.check_interval(sigma, "sigma", 0.)

  def gated(key, planes, on):
    k = _check_kernel_size(kernel_size, planes.shape[1:])
    s = _draw_sigma(key, sigma)
    if on is not None:
      # Gated off: sigma 0 gives the unit impulse kernel, and the slice sum
      # `1 * x + 0 * ...` returns the planes exactly: no select needed.
      s = jnp.where(on, s, jnp.zeros_like(s))
    return blur_planes(planes, s, k)

  return planar.PlanarOp(lambda key, planes: gated(key, planes, None),
                         gated=gated)


planar.register_planar(random_gaussian_blur, _random_blur_planar)
