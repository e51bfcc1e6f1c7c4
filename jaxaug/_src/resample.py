"""The one resampler every geometric op in jaxaug goes through.

Coordinates follow `scipy.ndimage`: pixel centres sit at integer positions,
`coordinates[0]` is the row and `coordinates[1]` the column of the input
position that each output pixel samples. Images are `(H, W, C)` floats in
[0, 1] (the image contract of `jaxaug`); outputs keep the dtype (half
precision is interpolated in float32) and are clipped to [0, 1].

Boundary modes (names as in jaxaug; the `scipy.ndimage` equivalent in
brackets, which the tests compare against for any finite coordinate):

* `"reflect"`: half-sample symmetric, `d c b a | a b c d | d c b a`
  (scipy `"reflect"`, alias `"grid-mirror"`; numpy's `"symmetric"`).
* `"mirror"`: whole-sample symmetric, `d c b | a b c d | c b a`
  (scipy `"mirror"`; numpy's `"reflect"`).
* `"constant"`: `cval` outside the image, blended at the border
  (scipy `"grid-constant"`).
* `"edge"` / `"nearest"`: the border pixel repeats (scipy `"nearest"`).
* `"wrap"`: periodic, `a b c d | a b c d` (scipy `"grid-wrap"`).

The periodic modes (reflect, mirror, wrap) first reduce each coordinate by
its period with an exact floating-point remainder, so a coordinate any
number of image sides away samples exactly what scipy samples.

Interpolation orders: 0 nearest, 1 bilinear, 3 bicubic. Order 3 is cubic
*convolution* with Keys' a = -0.5 (the kernel of PIL's and
`tf.image.resize`'s "bicubic"; torch and OpenCV use a = -0.75), not scipy's
cubic B-spline (which needs a global prefilter). Its four taps per axis that
fall outside the image take their values from the boundary mode, like every
order here: with mode "edge" they are clamped to the border pixel, as torch
and OpenCV do, whereas PIL and TF drop out-of-image taps and renormalise the
remaining weights, so results differ within two pixels of the border. The
cubic overshoot is clipped to [0, 1].
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from jaxaug._src import checks

MODES = ("reflect", "mirror", "constant", "edge", "nearest", "wrap")
ORDERS = (0, 1, 3)
_MODE_ALIASES = {
    "nearest": "edge",
    "grid-wrap": "wrap",
    "grid-constant": "constant",
    "grid-mirror": "reflect",
    "symmetric": "reflect",
}
_CUBIC_A = -0.5


def normalize_mode(mode: str) -> str:
  """Checks a boundary mode and returns its canonical jaxaug name."""
  if not isinstance(mode, str) or (mode not in MODES and
                                   mode not in _MODE_ALIASES):
    raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
  return _MODE_ALIASES.get(mode, mode)


def check_order(order: int) -> int:
  """Checks a static interpolation order (0, 1 or 3) and returns it."""
  if isinstance(order, bool) or not isinstance(order, int) or (order
                                                               not in ORDERS):
    raise ValueError(f"order must be one of {list(ORDERS)} (nearest, "
                     f"bilinear, bicubic), got {order!r}")
  return order


compute_dtype = checks.compute_dtype


def check_cval(cval):
  """Checks a concrete fill value (in [0, 1]); returns it."""
  checks.check_range(cval, "cval", 0.0, 1.0)
  return cval


def identity_grid(height: int, width: int, *,
                  dtype=jnp.float32) -> jax.Array:
  """Returns the identity sampling grid, shape `(2, height, width)`.

  `identity_grid(h, w)[:, i, j] == (i, j)`, so
  `map_coordinates(image, identity_grid(h, w))` returns `image`.

  Example:
    >>> identity_grid(2, 3)[1]
    Array([[0., 1., 2.],
           [0., 1., 2.]], dtype=float32)
  """
  rows = jnp.arange(height, dtype=dtype)
  cols = jnp.arange(width, dtype=dtype)
  rr, cc = jnp.meshgrid(rows, cols, indexing="ij")
  return jnp.stack([rr, cc])


def _period(n: int, mode: str):
  """Period of a boundary mode along an axis of length n (None: aperiodic)."""
  if mode == "wrap":
    return n
  if mode == "reflect":
    return 2 * n
  if mode == "mirror":
    return max(2 * n - 2, 1)
  return None


def _sanitize(coord: jax.Array, n: int, mode: str) -> jax.Array:
  """Makes a coordinate finite and small so integer indexing is safe.

  NaN and +-inf map far outside. Periodic modes then reduce the coordinate
  by their (integer) period with `lax.rem`, which is exact in floating
  point: the fractional part, and so every interpolation weight, is kept
  bit for bit, and the taps land on the same pixels as scipy's for any
  finite coordinate. The other modes are constant far outside, so their
  coordinates are clipped to a few sides around the image.
  """
  bound = float(8 * n + 8)
  coord = jnp.nan_to_num(coord, nan=-bound, posinf=bound, neginf=-bound)
  period = _period(n, mode)
  if period is not None:
    return jax.lax.rem(coord, jnp.asarray(period, coord.dtype))
  return jnp.clip(coord, -bound, bound)


def _map_index(idx: jax.Array, n: int, mode: str):
  """Maps integer tap indices into [0, n) for `mode`; returns (idx, valid)."""
  if mode == "reflect":
    m = jnp.mod(idx, 2 * n)
    return jnp.where(m >= n, 2 * n - 1 - m, m), None
  if mode == "mirror":
    if n == 1:
      return jnp.zeros_like(idx), None
    m = jnp.mod(idx, 2 * n - 2)
    return jnp.where(m >= n, 2 * n - 2 - m, m), None
  if mode == "wrap":
    return jnp.mod(idx, n), None
  if mode == "edge":
    return jnp.clip(idx, 0, n - 1), None
  valid = (idx >= 0) & (idx < n)
  return jnp.clip(idx, 0, n - 1), valid


def _fold(coord: jax.Array, n: int, mode: str) -> jax.Array:
  """Folds a (period-reduced) coordinate as scipy does before rounding.

  Nearest-neighbour sampling rounds halves up, and reflecting a coordinate
  turns "up" into "down": scipy reflects the continuous coordinate into the
  image first and rounds afterwards, so at exact half-integer coordinates in
  a reflected copy it picks the other neighbour than reflecting the rounded
  index would. This is scipy's own folding (`map_coordinate` in
  `ni_interpolation.c`), applied to a coordinate already reduced into
  (-period, period) by `_sanitize`; results are exact (small half-integers).
  """
  if mode == "mirror" and n == 1:
    return jnp.zeros_like(coord)
  if mode == "reflect":
    period = 2 * n
    below = jnp.where(coord < -n, coord + period, -coord - 1)
    above = jnp.where(coord >= n, period - coord - 1, coord)
  else:
    period = 2 * n - 2
    below = jnp.where(coord <= 1 - n, coord + period, -coord)
    above = jnp.where(coord >= n, period - coord, coord)
  return jnp.where(coord < 0, below, jnp.where(coord > n - 1, above, coord))


def _cubic_weights(t: jax.Array) -> list[jax.Array]:
  """Keys cubic-convolution weights for taps at floor-1 .. floor+2."""
  a = _CUBIC_A
  u = t + 1.0
  w0 = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a
  w1 = ((a + 2) * t - (a + 3)) * t * t + 1
  s = 1.0 - t
  w2 = ((a + 2) * s - (a + 3)) * s * s + 1
  w3 = 1.0 - w0 - w1 - w2
  return [w0, w1, w2, w3]


def axis_taps(coord: jax.Array, n: int, order: int, mode: str):
  """Interpolation taps along one axis.

  Args:
    coord: float positions, any shape, already sanitized (`_sanitize`).
    n: length of the axis.
    order: 0, 1 or 3.
    mode: canonical boundary mode.

  Returns:
    `(indices, weights, valid)`: lists (one entry per tap) of int32 indices
    in [0, n), float weights, and boolean in-range masks (None unless mode is
    "constant").
  """
  if order == 0:
    if mode in ("reflect", "mirror"):
      coord = _fold(coord, n, mode)
    # floor(x + 0.5) rounds halves up, as scipy does (jnp.round is to-even).
    raw = [jnp.floor(coord + 0.5)]
    weights = [jnp.ones_like(coord)]
  else:
    base = jnp.floor(coord)
    t = coord - base
    if order == 1:
      raw = [base, base + 1]
      weights = [1.0 - t, t]
    else:
      raw = [base - 1, base, base + 1, base + 2]
      weights = _cubic_weights(t)
  indices, valids = [], []
  for r in raw:
    idx, valid = _map_index(r.astype(jnp.int32), n, mode)
    indices.append(idx)
    valids.append(valid)
  return indices, weights, valids


def map_coordinates(image: jax.typing.ArrayLike,
                    coordinates: jax.typing.ArrayLike,
                    *,
                    order: int = 1,
                    mode: str = "reflect",
                    cval: jax.typing.ArrayLike = 0.0) -> jax.Array:
  """Samples an image at arbitrary (row, col) positions.

  Like `scipy.ndimage.map_coordinates` applied to each channel, with pixel
  centres at integer coordinates; for orders 0 and 1 it equals scipy (modes
  "reflect", "mirror", "grid-wrap", "grid-constant", "nearest") for every
  finite coordinate, however far outside the image. Non-finite coordinates
  are allowed too: they are made finite first, so the output and its
  gradients (w.r.t. `image`, `coordinates` and `cval`) are always finite.

  Args:
    image: `(H, W, C)` float image, values in [0, 1].
    coordinates: `(2, *out_shape)` float array; `coordinates[0]` holds rows,
      `coordinates[1]` columns, in input pixel units.
    order: static interpolation order: 0 nearest, 1 bilinear, 3 bicubic
      (Keys cubic convolution a = -0.5; not scipy's spline; see the module
      docstring for its borders).
    mode: static boundary mode: "reflect", "mirror", "constant", "edge"
      (alias "nearest") or "wrap" (see the module docstring).
    cval: value outside the image for mode "constant", in [0, 1]; may be
      traced (then clipped).

  Returns:
    `(*out_shape, C)` array with the dtype of `image`, in [0, 1].

  Raises:
    ValueError: wrong rank/shape of `image` or `coordinates`, bad `order`,
      `mode` or `cval`, or a concrete image value outside [0, 1].
    TypeError: non-float `image`.

  Example:
    >>> img = jnp.zeros((4, 4, 3))
    >>> map_coordinates(img, identity_grid(4, 4) + 0.5).shape
    (4, 4, 3)
  """
  image = checks.check_image(image)
  order = check_order(order)
  mode = normalize_mode(mode)
  coordinates = jnp.asarray(coordinates)
  if coordinates.ndim < 1 or coordinates.shape[0] != 2:
    raise ValueError("coordinates must have shape (2, *out_shape) (rows, "
                     f"cols), got {tuple(coordinates.shape)}")
  h, w, c = image.shape
  dtype = compute_dtype(image.dtype)
  if not jnp.issubdtype(coordinates.dtype, jnp.floating):
    coordinates = coordinates.astype(dtype)
  img = image.astype(dtype)
  rows = _sanitize(coordinates[0], h, mode)
  cols = _sanitize(coordinates[1], w, mode)
  iy, wy, vy = axis_taps(rows, h, order, mode)
  ix, wx, vx = axis_taps(cols, w, order, mode)
  # One gather per tap, accumulated: XLA fuses each gather into the sum, so
  # only the coordinates are per-pixel temporaries. (Stacking all taps into
  # one gather materialised taps x (H, W, C) values, indices and weights:
  # 6.7x the batch in temporaries for bilinear RGB at 224x224, and 8x slower
  # on CPU.)
  flat = img.reshape(h * w, c)
  if mode == "constant":
    fill = _cval(cval, dtype)
  out = None
  for a, wa, va in zip(iy, wy, vy):
    for b, wb, vb in zip(ix, wx, vx):
      v = flat.at[a * w + b].get(mode="promise_in_bounds")
      if mode == "constant":
        v = jnp.where((va & vb)[..., None], v, fill)
      term = v * (wa * wb).astype(dtype)[..., None]
      out = term if out is None else out + term
  # Cubic overshoot, and weights that sum to 1 only up to rounding.
  return checks.image_out(out, image.dtype)


def _cval(cval, dtype):
  check_cval(cval)
  return checks.clip(jnp.asarray(cval, dtype))


def resample_separable(image: jax.typing.ArrayLike,
                       rows: jax.typing.ArrayLike,
                       cols: jax.typing.ArrayLike,
                       *,
                       order: int = 1,
                       mode: str = "reflect",
                       cval: jax.typing.ArrayLike = 0.0) -> jax.Array:
  """Axis-aligned resampling: `out[i, j] = image(rows[i], cols[j])`.

  Equals `map_coordinates(image, stack(meshgrid(rows, cols, indexing="ij")))`
  (up to float rounding) but interpolates one axis at a time (row gathers,
  then column gathers): about 6x faster on CPU than the 2-D gather for crops, resizes,
  flips and axis-aligned scale/translation (and about 4x faster than dense
  interpolation-matrix matmuls `Wy @ image @ Wx^T`, measured at 256->224,
  batch 64, 2 CPU cores).

  Args:
    image: `(H, W, C)` float image.
    rows: `(out_h,)` input row positions.
    cols: `(out_w,)` input column positions.
    order: 0, 1 or 3 (static).
    mode: boundary mode (static).
    cval: outside value for mode "constant".

  Returns:
    `(out_h, out_w, C)` array in the dtype of `image`.
  """
  image = checks.check_image(image)
  order = check_order(order)
  mode = normalize_mode(mode)
  h, w, _ = image.shape
  dtype = compute_dtype(image.dtype)
  rows = _sanitize(jnp.asarray(rows, dtype), h, mode)
  cols = _sanitize(jnp.asarray(cols, dtype), w, mode)
  img = image.astype(dtype)
  if mode == "constant":
    cval = _cval(cval, dtype)
  iy, wy, vy = axis_taps(rows, h, order, mode)
  tmp = 0.0
  for idx, wgt, valid in zip(iy, wy, vy):
    v = img.at[idx].get(mode="promise_in_bounds")
    if valid is not None:
      v = jnp.where(valid[:, None, None], v, cval)
    tmp = tmp + v * wgt[:, None, None]
  ix, wx, vx = axis_taps(cols, w, order, mode)
  out = 0.0
  for idx, wgt, valid in zip(ix, wx, vx):
    v = tmp.at[:, idx].get(mode="promise_in_bounds")
    if valid is not None:
      v = jnp.where(valid[None, :, None], v, cval)
    out = out + v * wgt[None, :, None]
  return checks.image_out(out, image.dtype)


def grid_from_axes(rows: jax.Array, cols: jax.Array) -> jax.Array:
  """`(2, len(rows), len(cols))` coordinates of an axis-aligned grid."""
  rr, cc = jnp.meshgrid(rows, cols, indexing="ij")
  return jnp.stack([rr, cc])


__all__: Sequence[str] = ("map_coordinates", "identity_grid")
