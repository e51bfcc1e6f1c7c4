"""Geometric augmentations: flips, rotations, affine maps, crops, padding.

Every op takes one `(H, W, C)` float image with values in [0, 1] and returns
the same dtype with values in [0, 1]; the shape is kept unless the op crops,
resizes or pads. Magnitudes (angles, factors, offsets, crop boxes) may be
traced, so they can vary per example under `jax.vmap`; output sizes, `order`
and `mode` are static.

Coordinates follow `scipy.ndimage`: `(row, col)`, pixel centres at integers,
the image centre at `((H - 1) / 2, (W - 1) / 2)`. Every resampling op goes
through `jaxaug.map_coordinates` (one pass; see it for `order` and `mode`).
A 3x3 matrix `M` maps homogeneous OUTPUT coordinates `(row, col, 1)` to
INPUT coordinates, exactly as in `scipy.ndimage.affine_transform`.

Geometric fusion: every random geometric op has a *matrix sampler*
(`geometric_op(fn).sample(key, (H, W)) -> (M, (out_h, out_w))`) that draws
its randomness exactly as the op does, so that
`fn(key, image) == affine_transform(image, M, output_shape=out)`.
`jaxaug.chain` uses it to fuse consecutive geometric ops into one resampling
pass (less blur, less work).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from typing import Any, Callable, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxaug._src import boxes
from jaxaug._src import checks
from jaxaug._src import deprecation
from jaxaug._src import fusion
from jaxaug._src import resample

ArrayLike = jax.typing.ArrayLike
Size = Union[int, Sequence[int]]

# --------------------------------------------------------------------------
# Fusion protocol.


@dataclasses.dataclass(frozen=True)
class GeometricOp:
  """How a random geometric op resamples, for fusion by `jaxaug.chain`.

  Attributes:
    sample: `sample(key, (H, W)) -> (M, (out_h, out_w))`; `M` is a `(3, 3)`
      matrix mapping homogeneous output `(row, col, 1)` to input coordinates;
      it draws from `key` exactly as the op itself. `(out_h, out_w)` is
      static (it depends on `(H, W)` only).
    order: interpolation order the op uses.
    mode: boundary mode the op uses, or None when it only samples inside
      the image (flips, crops), so a fused group takes another op's mode.
    cval: fill value for mode "constant".
    axis_aligned: True if every `M` it returns is diagonal plus translation
      (flips, crops, scale, translation), which allows the fast separable
      resampler.
  """
  sample: Callable[[jax.Array, tuple[int, int]],
                   tuple[jax.Array, tuple[int, int]]]
  order: int = 1
  mode: Optional[str] = "reflect"
  cval: Any = 0.0
  axis_aligned: bool = False


_REGISTRY: dict[Callable[..., Any], Callable[..., GeometricOp]] = {}


def register_geometric(fn: Callable[..., Any],
                       builder: Callable[..., GeometricOp]) -> None:
  """Registers `builder(**options) -> GeometricOp` for a random op `fn`.

  `geometric_op(fn)` and `geometric_op(functools.partial(fn, **options))`
  then return `builder(**options)`.
  """
  _REGISTRY[fn] = builder


def geometric_op(fn: Any) -> Optional[GeometricOp]:
  """Returns the `GeometricOp` of a fusable callable, or None.

  Recognises: objects carrying a `__jaxaug_geometric__` attribute (a
  `GeometricOp`; set by `with_probability`, `chain`, `one_of`,
  `in_random_order` around geometric ops), registered random geometric functions, and
  `functools.partial(fn, **options)` of them (keyword options only; a
  `channel_axis` other than -1 is not fusable).

  Example:
    >>> op = geometric_op(functools.partial(random_rotate, order=0))
    >>> op.order
    0
  """
  return fusion.fused_form(fn, _REGISTRY, "__jaxaug_geometric__", GeometricOp)


def apply_matrix(image: jax.Array, matrix: jax.Array,
                 output_shape: tuple[int, int], *, order: int, mode: str,
                 cval: Any, axis_aligned: bool) -> jax.Array:
  """Resamples `image` with a homogeneous output->input `matrix`."""
  mode = "edge" if mode is None else mode
  if axis_aligned:
    h, w = output_shape
    dtype = resample.compute_dtype(image.dtype)
    rows = matrix[0, 0] * jnp.arange(h, dtype=dtype) + matrix[0, 2]
    cols = matrix[1, 1] * jnp.arange(w, dtype=dtype) + matrix[1, 2]
    return resample.resample_separable(image, rows, cols, order=order,
                                       mode=mode, cval=cval)
  return affine_transform(image, matrix, output_shape=output_shape,
                          order=order, mode=mode, cval=cval)


def _make_random_op(name: str, builder: Callable[..., GeometricOp],
                    doc: str) -> Callable[..., jax.Array]:
  """Builds `random_x(key, image, **options)` from its matrix sampler."""

  builder_sig = inspect.signature(builder)

  def op(key: jax.Array, image: ArrayLike, **options) -> jax.Array:
    try:
      builder_sig.bind(**options)
    except TypeError as e:
      raise TypeError(f"{name}(): {e}") from None
    checks.check_key(key)
    image = checks.check_image(image)
    g = builder(**options)
    m, out_shape = g.sample(key, image.shape[:2])
    return apply_matrix(image, m, out_shape, order=g.order, mode=g.mode,
                        cval=g.cval, axis_aligned=g.axis_aligned)

  op.__name__ = op.__qualname__ = name
  op.__doc__ = doc
  kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
  params = [inspect.Parameter("key", kind), inspect.Parameter("image", kind)]
  params += list(inspect.signature(builder).parameters.values())
  op.__signature__ = inspect.Signature(params)
  return op


# --------------------------------------------------------------------------
# Matrices (all map output -> input, homogeneous (row, col, 1)).


def _f32(x) -> jax.Array:
  return jnp.asarray(x, jnp.float32)


def _translation(dy, dx) -> jax.Array:
  dy, dx = _f32(dy), _f32(dx)
  one, zero = jnp.ones_like(dy), jnp.zeros_like(dy)
  return jnp.stack([
      jnp.stack([one, zero, dy]),
      jnp.stack([zero, one, dx]),
      jnp.stack([zero, zero, one])
  ])


def _linear(a, b, c, d) -> jax.Array:
  a, b, c, d = (_f32(v) for v in (a, b, c, d))
  zero, one = jnp.zeros_like(a), jnp.ones_like(a)
  return jnp.stack([
      jnp.stack([a, b, zero]),
      jnp.stack([c, d, zero]),
      jnp.stack([zero, zero, one])
  ])


def _centre(hw: tuple[int, int]) -> tuple[float, float]:
  return (hw[0] - 1) / 2.0, (hw[1] - 1) / 2.0


def _about_centre(linear_inv: jax.Array, hw: tuple[int, int]) -> jax.Array:
  cy, cx = _centre(hw)
  return _translation(cy, cx) @ linear_inv @ _translation(-cy, -cx)


def rotation_matrix(angle: ArrayLike, hw: tuple[int, int]) -> jax.Array:
  """Output->input matrix of a counter-clockwise rotation about the centre."""
  angle = _f32(angle)
  c, s = jnp.cos(angle), jnp.sin(angle)
  return _about_centre(_linear(c, s, -s, c), hw)


def scale_matrix(factor: ArrayLike, hw: tuple[int, int]) -> jax.Array:
  """Output->input matrix of zooming by `factor` (scalar or (fy, fx))."""
  f = jnp.broadcast_to(_f32(factor), (2,))
  f = jnp.maximum(jnp.abs(f), 1e-6) * jnp.where(f < 0, -1.0, 1.0)
  return _about_centre(_linear(1.0 / f[0], 0.0, 0.0, 1.0 / f[1]), hw)


def shear_matrix(shear_: ArrayLike, hw: tuple[int, int]) -> jax.Array:
  """Output->input matrix of a horizontal shear about the centre."""
  return _about_centre(_linear(1.0, 0.0, -_f32(shear_), 1.0), hw)


def flip_matrix(hw: tuple[int, int], *, vertical: bool) -> jax.Array:
  if vertical:
    return _translation(hw[0] - 1, 0.0) @ _linear(-1.0, 0.0, 0.0, 1.0)
  return _translation(0.0, hw[1] - 1) @ _linear(1.0, 0.0, 0.0, -1.0)


def crop_matrix(box: ArrayLike, size: tuple[int, int]) -> jax.Array:
  """Output->input matrix of `resized_crop` (half-pixel-centre mapping)."""
  top, left, height, width = (_f32(v) for v in jnp.asarray(box).T)
  sy, sx = height / size[0], width / size[1]
  return _translation(top + 0.5 * sy - 0.5, left + 0.5 * sx - 0.5) @ _linear(
      sy, 0.0, 0.0, sx)


def _select(cond, m) -> jax.Array:
  return jnp.where(cond, m, jnp.eye(3, dtype=m.dtype))


def _coin(key: jax.Array, probability) -> jax.Array:
  return jax.random.uniform(key) < probability


def _resample_options(order, mode, cval):
  return (resample.check_order(order), resample.normalize_mode(mode),
          resample.check_cval(cval))


# --------------------------------------------------------------------------
# Flips and 90 degree rotations (exact).


@checks.with_channel_axis
def flip_left_right(image: ArrayLike) -> jax.Array:
  """Mirrors an image horizontally (columns reversed).

  Args:
    image: `(H, W, C)` float image in [0, 1].

  Returns:
    The flipped image, same shape and dtype.

  Example:
    >>> flip_left_right(jnp.zeros((4, 5, 3))).shape
    (4, 5, 3)
  """
  return checks.check_image(image)[:, ::-1]


@checks.with_channel_axis
def flip_up_down(image: ArrayLike) -> jax.Array:
  """Mirrors an image vertically (rows reversed). See `flip_left_right`."""
  return checks.check_image(image)[::-1]


def _flip_builder(vertical: bool):

  def builder(*, probability: ArrayLike = 0.5) -> GeometricOp:
    checks.check_probability(probability, "probability")

    def sample(key, hw):
      return _select(_coin(key, probability),
                     flip_matrix(hw, vertical=vertical)), tuple(hw)

    return GeometricOp(sample, order=0, mode=None, axis_aligned=True)

  return builder


@checks.with_channel_axis
def random_flip_left_right(key: jax.Array, image: ArrayLike, *,
                           probability: ArrayLike = 0.5) -> jax.Array:
  """Flips horizontally with probability `probability`.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    probability: chance of flipping, in [0, 1] (may be traced).

  Returns:
    The image, flipped or not, same shape and dtype.

  Raises:
    ValueError: `probability` outside [0, 1].

  Example:
    >>> out = random_flip_left_right(jax.random.key(0), jnp.zeros((4, 4, 3)))
  """
  checks.check_key(key)
  image = checks.check_image(image)
  checks.check_probability(probability, "probability")
  return jnp.where(_coin(key, probability), flip_left_right(image), image)


@checks.with_channel_axis
def random_flip_up_down(key: jax.Array, image: ArrayLike, *,
                        probability: ArrayLike = 0.5) -> jax.Array:
  """Flips vertically with probability `probability`.

  See `random_flip_left_right`.
  """
  checks.check_key(key)
  image = checks.check_image(image)
  checks.check_probability(probability, "probability")
  return jnp.where(_coin(key, probability), flip_up_down(image), image)


@checks.with_channel_axis
def rot90(image: ArrayLike, *, k: int = 1) -> jax.Array:
  """Rotates by `k` quarter turns counter-clockwise (exact, like np.rot90).

  Args:
    image: `(H, W, C)` float image.
    k: static number of quarter turns (any int; negative is clockwise).

  Returns:
    The rotated image, `(W, H, C)` for odd `k`.

  Example:
    >>> rot90(jnp.zeros((4, 5, 3))).shape
    (5, 4, 3)
  """
  image = checks.check_image(image)
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
    raise TypeError(f"k must be a static int, got {k!r}")
  return jnp.rot90(image, int(k), axes=(0, 1))


@checks.with_channel_axis
def random_rot90(key: jax.Array, image: ArrayLike) -> jax.Array:
  """Rotates by a random number of quarter turns (exact).

  Square images: k uniform in {0, 1, 2, 3}. Non-square images: k in {0, 2}
  (odd k would change the shape, which must be static).

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image.

  Returns:
    The rotated image, same shape and dtype.

  Example:
    >>> out = random_rot90(jax.random.key(0), jnp.zeros((4, 4, 3)))
  """
  checks.check_key(key)
  image = checks.check_image(image)
  square = image.shape[0] == image.shape[1]
  n = 4 if square else 2
  k = jax.random.randint(key, (), 0, n)
  ks = (0, 1, 2, 3) if square else (0, 2)
  branches = [functools.partial(rot90, k=kk) for kk in ks]
  return jax.lax.switch(k, branches, image)


# --------------------------------------------------------------------------
# Affine maps.


@checks.with_channel_axis
def affine_transform(image: ArrayLike,
                     matrix: ArrayLike,
                     *,
                     output_shape: Optional[Size] = None,
                     order: int = 1,
                     mode: str = "reflect",
                     cval: ArrayLike = 0.0) -> jax.Array:
  """Applies an affine map, exactly like `scipy.ndimage.affine_transform`.

  `matrix` maps homogeneous OUTPUT pixel coordinates `(row, col, 1)` to the
  INPUT coordinates sampled there (the inverse of the visible motion).

  Args:
    image: `(H, W, C)` float image in [0, 1].
    matrix: `(3, 3)` or `(2, 3)` float array (may be traced), or `(2, 2)`
      (linear part only).
    output_shape: static `(out_h, out_w)` (or int); default `(H, W)`.
    order: 0 nearest, 1 bilinear, 3 bicubic (see `map_coordinates`).
    mode: "reflect", "mirror", "constant", "edge"/"nearest" or "wrap"
      (see `map_coordinates`).
    cval: fill value for mode "constant".

  Returns:
    `(out_h, out_w, C)` image in the dtype of `image`.

  Raises:
    ValueError: bad `matrix` shape, `output_shape`, `order` or `mode`, or a
      concrete `matrix` with a NaN/inf entry.

  Example:
    >>> img = jnp.zeros((8, 8, 3))
    >>> shift = jnp.array([[1., 0., 2.], [0., 1., -1.]])  # samples (r+2, c-1)
    >>> affine_transform(img, shift).shape
    (8, 8, 3)
  """
  image = checks.check_image(image)
  matrix = jnp.asarray(matrix)
  if matrix.shape not in ((3, 3), (2, 3), (2, 2)):
    raise ValueError("matrix must have shape (3, 3), (2, 3) or (2, 2), got "
                     f"{tuple(matrix.shape)}")
  checks.check_finite(matrix, "matrix")
  if output_shape is None:
    output_shape = image.shape[:2]
  out_h, out_w = checks.check_size(output_shape, "output_shape")
  dtype = resample.compute_dtype(image.dtype)
  matrix = matrix.astype(dtype)
  grid = resample.identity_grid(out_h, out_w, dtype=dtype)
  coords = jnp.einsum("ij,jhw->ihw", matrix[:2, :2], grid,
                      precision=jax.lax.Precision.HIGHEST)
  if matrix.shape[1] == 3:
    coords = coords + matrix[:2, 2, None, None]
  return resample.map_coordinates(image, coords, order=order, mode=mode,
                                  cval=cval)


@checks.with_channel_axis
def rotate(image: ArrayLike,
           angle: ArrayLike,
           *,
           order: int = 1,
           mode: str = "reflect",
           cval: ArrayLike = 0.0) -> jax.Array:
  """Rotates counter-clockwise (as displayed) about the image centre.

  Args:
    image: `(H, W, C)` float image in [0, 1].
    angle: rotation in RADIANS, counter-clockwise as displayed (row 0 on
      top), about `((H - 1) / 2, (W - 1) / 2)`; may be traced.
      `rotate(img, pi / 2)` equals `rot90(img)` for square images.
    order: interpolation order (0, 1, 3).
    mode: boundary mode for pixels rotated in from outside.
    cval: fill value for mode "constant".

  Returns:
    The rotated image, same shape and dtype.

  Raises:
    ValueError: a concrete non-finite (NaN/inf) `angle`, bad `order`,
      `mode` or image.

  Example:
    >>> rotate(jnp.zeros((8, 8, 3)), jnp.pi / 6).shape
    (8, 8, 3)
  """
  image = checks.check_image(image)
  checks.check_finite(angle, "angle")
  return affine_transform(image, rotation_matrix(angle, image.shape[:2]),
                          order=order, mode=mode, cval=cval)


@checks.with_channel_axis
def translate(image: ArrayLike,
              translation: ArrayLike,
              *,
              order: int = 1,
              mode: str = "reflect",
              cval: ArrayLike = 0.0) -> jax.Array:
  """Moves the content by `translation = (dy, dx)` pixels (down, right).

  Same convention as `scipy.ndimage.shift`. Fractional translations
  interpolate. (The keyword was called `offset` before 0.2.)

  Args:
    image: `(H, W, C)` float image in [0, 1].
    translation: `(dy, dx)` in pixels, or a scalar for both; may be traced.
    order, mode, cval: resampling options (see `affine_transform`).

  Returns:
    The shifted image, same shape and dtype.

  Raises:
    ValueError: a concrete non-finite (NaN/inf) `translation`, bad `mode`
      or image.

  Example:
    >>> translate(jnp.zeros((8, 8, 3)), (1.5, -2.0)).shape
    (8, 8, 3)
  """
  image = checks.check_image(image)
  checks.check_finite(translation, "translation")
  off = jnp.broadcast_to(_f32(translation), (2,))
  m = _translation(-off[0], -off[1])
  return apply_matrix(image, m, image.shape[:2], order=order,
                      mode=resample.normalize_mode(mode), cval=cval,
                      axis_aligned=True)


@checks.with_channel_axis
def scale(image: ArrayLike,
          scale: ArrayLike,  # pylint: disable=redefined-outer-name
          *,
          order: int = 1,
          mode: str = "reflect",
          cval: ArrayLike = 0.0) -> jax.Array:
  """Zooms about the image centre, keeping the shape.

  (The keyword `scale` was called `factor` before 0.2.)

  Args:
    image: `(H, W, C)` float image in [0, 1].
    scale: zoom factor (> 1 enlarges the content), scalar or `(fy, fx)`;
      may be traced. Values are kept away from 0.
    order, mode, cval: resampling options (see `affine_transform`).

  Returns:
    The zoomed image, same shape and dtype.

  Example:
    >>> scale(jnp.zeros((8, 8, 3)), 1.25).shape
    (8, 8, 3)
  """
  image = checks.check_image(image)
  checks.check_positive(scale, "scale")
  return apply_matrix(image, scale_matrix(scale, image.shape[:2]),
                      image.shape[:2], order=order,
                      mode=resample.normalize_mode(mode), cval=cval,
                      axis_aligned=True)


@checks.with_channel_axis
def shear(image: ArrayLike,
          shear: ArrayLike,  # pylint: disable=redefined-outer-name
          *,
          order: int = 1,
          mode: str = "reflect",
          cval: ArrayLike = 0.0) -> jax.Array:
  """Shears horizontally about the image centre.

  Convention: the content point at `(row, col)` moves to
  `(row, col + shear * (row - cy))`, so for `shear > 0` rows below the
  centre slide right and rows above slide left (as displayed). The sampled
  input position of output `(r, c)` is `(r, c - shear * (r - cy))`.

  Args:
    image: `(H, W, C)` float image in [0, 1].
    shear: shear coefficient (tan of the shear angle); may be traced.
    order, mode, cval: resampling options (see `affine_transform`).

  Returns:
    The sheared image, same shape and dtype.

  Raises:
    ValueError: a concrete non-finite (NaN/inf) `shear`, bad `order`,
      `mode` or image.

  Example:
    >>> shear(jnp.zeros((8, 8, 3)), 0.2).shape
    (8, 8, 3)
  """
  image = checks.check_image(image)
  checks.check_finite(shear, "shear")
  return affine_transform(image, shear_matrix(shear, image.shape[:2]),
                          order=order, mode=mode, cval=cval)


def _rotate_builder(*, angle=(-math.pi / 6, math.pi / 6), order=1,
                    mode="reflect", cval=0.0) -> GeometricOp:
  order, mode, cval = _resample_options(order, mode, cval)
  checks.check_interval(angle, "angle")

  def sample(key, hw):
    return rotation_matrix(checks.uniform(key, angle, "angle"), hw), tuple(hw)

  return GeometricOp(sample, order, mode, cval)


def _translate_builder(*, translation_fraction=(-0.1, 0.1), order=1,
                       mode="reflect", cval=0.0) -> GeometricOp:
  order, mode, cval = _resample_options(order, mode, cval)
  checks.check_interval(translation_fraction, "translation_fraction", -1.0,
                        1.0)

  def sample(key, hw):
    frac = checks.uniform(key, translation_fraction, "translation_fraction",
                          shape=(2,))
    return _translation(-frac[0] * hw[0], -frac[1] * hw[1]), tuple(hw)

  return GeometricOp(sample, order, mode, cval, axis_aligned=True)


def _log_uniform(key, interval, name, shape=()):
  low, high = checks.check_interval(interval, name, 0.0)
  checks.check_positive(low, f"{name}[0]")
  low = jnp.log(jnp.maximum(_f32(low), 1e-6))
  high = jnp.log(jnp.maximum(_f32(high), 1e-6))
  return jnp.exp(checks.uniform_flat(key, shape, jnp.float32, low, high))


def _scale_builder(*, scale=(0.8, 1.25), order=1, mode="reflect",  # pylint: disable=redefined-outer-name
                   cval=0.0) -> GeometricOp:
  order, mode, cval = _resample_options(order, mode, cval)
  checks.check_interval(scale, "scale", 0.0)
  checks.check_positive(scale[0], "scale[0]")

  def sample(key, hw):
    factor = _log_uniform(key, scale, "scale")
    return scale_matrix(factor, hw), tuple(hw)

  return GeometricOp(sample, order, mode, cval, axis_aligned=True)


def _shear_builder(*, shear=(-0.2, 0.2), order=1, mode="reflect",  # pylint: disable=redefined-outer-name
                   cval=0.0) -> GeometricOp:
  order, mode, cval = _resample_options(order, mode, cval)
  checks.check_interval(shear, "shear")

  def sample(key, hw):
    return shear_matrix(checks.uniform(key, shear, "shear"), hw), tuple(hw)

  return GeometricOp(sample, order, mode, cval)


def _affine_builder(*, angle=(-math.pi / 6, math.pi / 6), scale=(0.9, 1.1),  # pylint: disable=redefined-outer-name
                    shear=(0.0, 0.0), translation_fraction=(0.0, 0.0),  # pylint: disable=redefined-outer-name
                    order=1, mode="reflect", cval=0.0) -> GeometricOp:
  order, mode, cval = _resample_options(order, mode, cval)
  checks.check_interval(angle, "angle")
  checks.check_interval(scale, "scale", 0.0)
  checks.check_positive(scale[0], "scale[0]")
  checks.check_interval(shear, "shear")
  checks.check_interval(translation_fraction, "translation_fraction", -1.0,
                        1.0)

  def sample(key, hw):
    k_rot, k_scale, k_shear, k_trans = jax.random.split(key, 4)
    theta = checks.uniform(k_rot, angle, "angle")
    factor = _log_uniform(k_scale, scale, "scale")
    sh = checks.uniform(k_shear, shear, "shear")
    frac = checks.uniform(k_trans, translation_fraction,
                          "translation_fraction", shape=(2,))
    # Forward map A = R(angle) . diag(factor) . Shear(sh) about the centre,
    # then a shift; the matrix is its inverse (output -> input).
    c, s = jnp.cos(theta), jnp.sin(theta)
    r_inv = _linear(c, s, -s, c)
    s_inv = _linear(1.0 / factor, 0.0, 0.0, 1.0 / factor)
    sh_inv = _linear(1.0, 0.0, -sh, 1.0)
    m = _about_centre(sh_inv @ s_inv @ r_inv, hw)
    m = m @ _translation(-frac[0] * hw[0], -frac[1] * hw[1])
    return m, tuple(hw)

  return GeometricOp(sample, order, mode, cval)


# Deprecated option spellings (one release): (converter, old names) per op.
# They are converted twice over: by the public op before anything else (so
# an eager call with an old spelling takes the compiled eager path, as the
# new spelling does), and by the builder that `chain` fuses
# (`functools.partial(random_rotate, angle_range=...)` in a chain).
_RENAMED = {
    "random_rotate": (deprecation.renamed({"angle_range": "angle"}),
                      ["angle_range"]),
    "random_translate": (deprecation.renamed(
        {"translation": "translation_fraction"}), ["translation"]),
    "random_affine": (deprecation.renamed(
        {"rotation": "angle", "translation": "translation_fraction"}),
                      ["rotation", "translation"]),
}


def _renamed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
  convert, old = _RENAMED[name]
  return deprecation.renamed_options(fn, convert, old, name=name)


_RESAMPLE_ARGS = """    order: static interpolation order (0, 1, 3).
    mode: static boundary mode ("reflect", "mirror", "constant", "edge",
      "wrap"; see `map_coordinates`).
    cval: fill value for mode "constant"."""

random_rotate = checks.with_channel_axis(_make_random_op(
    "random_rotate", _rotate_builder, f"""Rotates by a uniform random angle.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    angle: `(low, high)` range of the angle in radians, counter-clockwise
      (see `rotate`); default +-pi/6.
{_RESAMPLE_ARGS}

  Returns:
    The rotated image, same shape and dtype.

  Example:
    >>> out = random_rotate(jax.random.key(0), jnp.zeros((8, 8, 3)))
  """))

random_translate = checks.with_channel_axis(_make_random_op(
    "random_translate", _translate_builder,
    f"""Shifts by a random offset, independently along rows and columns.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    translation_fraction: `(low, high)` range of the translation as a
      fraction of the height (rows) and width (columns), each drawn
      uniformly; in [-1, 1]. The translation in pixels, `fraction * side`,
      is what `translate` takes.
{_RESAMPLE_ARGS}

  Returns:
    The shifted image, same shape and dtype.

  Example:
    >>> out = random_translate(jax.random.key(0), jnp.zeros((8, 8, 3)))
  """))

random_scale = checks.with_channel_axis(_make_random_op(
    "random_scale", _scale_builder,
    f"""Zooms about the centre by a log-uniform random factor.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    scale: `(low, high)` zoom factors, positive (> 1 enlarges the content);
      drawn log-uniformly.
{_RESAMPLE_ARGS}

  Returns:
    The zoomed image, same shape and dtype.

  Example:
    >>> out = random_scale(jax.random.key(0), jnp.zeros((8, 8, 3)))
  """))

random_shear = checks.with_channel_axis(_make_random_op(
    "random_shear", _shear_builder,
    f"""Shears horizontally by a uniform random coefficient (see `shear`).

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    shear: `(low, high)` shear coefficients.
{_RESAMPLE_ARGS}

  Returns:
    The sheared image, same shape and dtype.

  Example:
    >>> out = random_shear(jax.random.key(0), jnp.zeros((8, 8, 3)))
  """))

random_affine = checks.with_channel_axis(_make_random_op(
    "random_affine", _affine_builder,
    f"""Random rotation, scale, shear and translation in one resampling pass.

  The content is sheared (`shear`), zoomed (`scale`, isotropic) and rotated
  (`angle`) about the centre, then shifted (`translation_fraction` times the
  image size): forward map `x -> R S Sh (x - c) + c + t`.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    angle: `(low, high)` radians, counter-clockwise; default +-pi/6.
    scale: `(low, high)` zoom factors, log-uniform; default (0.9, 1.1).
    shear: `(low, high)` shear coefficients; default (0, 0).
    translation_fraction: `(low, high)` fraction of height/width; default
      (0, 0).
{_RESAMPLE_ARGS}

  Returns:
    The transformed image, same shape and dtype.

  Example:
    >>> out = random_affine(jax.random.key(0), jnp.zeros((8, 8, 3)))
  """))


# --------------------------------------------------------------------------
# Crops, resizes and padding.


def _check_box(box) -> jax.Array:
  box = jnp.asarray(box)
  if box.shape != (4,):
    raise ValueError("box must be (top, left, height, width), shape (4,), got "
                     f"shape {tuple(box.shape)}")
  checks.check_finite(box, "box")
  return box.astype(jnp.float32)


@checks.with_channel_axis
def resized_crop(image: ArrayLike,
                 box: ArrayLike,
                 *,
                 size: Size,
                 order: int = 1,
                 mode: str = "edge",
                 cval: ArrayLike = 0.0) -> jax.Array:
  """Crops a (fractional) box and resizes it to `size`.

  The box covers the continuous region `[top, top + height) x
  [left, left + width)` in pixel-edge units (the whole image is
  `(0, 0, H, W)`); output pixel centres are spread evenly over it
  (half-pixel centres, like `torchvision`/`jax.image.resize`, no
  antialiasing). Runs as a fast separable resampling.

  Args:
    image: `(H, W, C)` float image in [0, 1].
    box: `(top, left, height, width)` floats, may be traced.
    size: static output size, int or `(out_h, out_w)`.
    order, mode, cval: resampling options (see `affine_transform`).

  Returns:
    `(out_h, out_w, C)` image, dtype of `image`.

  Raises:
    ValueError: `box` not of shape (4,) or (concrete) with a NaN/inf entry,
      bad `size`, `order`, `mode` or image.

  Example:
    >>> resized_crop(jnp.zeros((32, 32, 3)), (4., 4., 20., 24.), size=16).shape
    (16, 16, 3)
  """
  image = checks.check_image(image)
  size = checks.check_size(size, "size")
  box = _check_box(box)
  return apply_matrix(image, crop_matrix(box, size), size, order=order,
                      mode=resample.normalize_mode(mode), cval=cval,
                      axis_aligned=True)


def sample_resized_crop_box(key: jax.Array, hw: tuple[int, int], *,
                            area=(0.08, 1.0),
                            aspect_ratio=(3 / 4, 4 / 3),
                            attempts: int = boxes.ATTEMPTS) -> jax.Array:
  """Samples an Inception/SimCLR crop box `(top, left, height, width)`.

  As torchvision's `RandomResizedCrop`: `boxes.sample_box` (area fraction
  uniform in `area`, aspect ratio width / height log-uniform in
  `aspect_ratio`, the first of `attempts` draws that fits), else the central
  crop with the image's aspect ratio clipped to `aspect_ratio`. Box sides
  are not rounded to integers (the resampler handles fractional boxes).
  """
  h, w = hw
  checks.check_positive(checks.check_interval(area, "area", 0.0, 1.0)[0],
                        "area[0]")
  box, found = boxes.sample_box(key, hw, area=area, aspect_ratio=aspect_ratio,
                                integer=False, attempts=attempts)
  lo_r, hi_r = aspect_ratio
  # Fallback: whole image with its aspect ratio clipped into the range.
  in_ratio = w / h
  fw = jnp.where(in_ratio > hi_r, h * _f32(hi_r), float(w))
  fh = jnp.where(in_ratio < lo_r, w / _f32(lo_r), float(h))
  fw, fh = jnp.minimum(fw, w), jnp.minimum(fh, h)
  fallback = jnp.stack([(h - fh) / 2, (w - fw) / 2, fh, fw])
  return jnp.where(found, box, fallback)


def _resized_crop_builder(*, size, area=(0.08, 1.0),
                          aspect_ratio=(3 / 4, 4 / 3), order=1, mode=None,
                          cval=0.0) -> GeometricOp:
  # mode None: boxes lie inside the image, so the mode only matters when
  # fused with other ops (which then pick it).
  order = resample.check_order(order)
  mode = None if mode is None else resample.normalize_mode(mode)
  size = checks.check_size(size, "size")
  checks.check_interval(area, "area", 0.0, 1.0)
  checks.check_interval(aspect_ratio, "aspect_ratio", 0.0)

  def sample(key, hw):
    box = sample_resized_crop_box(key, tuple(hw), area=area,
                                  aspect_ratio=aspect_ratio)
    return crop_matrix(box, size), size

  return GeometricOp(sample, order, mode, cval, axis_aligned=True)


random_resized_crop = checks.with_channel_axis(_make_random_op(
    "random_resized_crop", _resized_crop_builder,
    f"""Inception-style random resized crop (SimCLR, torchvision).

  Samples a box with `sample_resized_crop_box` (area fraction uniform in
  `area`, aspect ratio log-uniform in `aspect_ratio`, up to 10 tries, then
  the clipped central crop) and resizes it to `size` with `resized_crop`.

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    size: static output size, int or `(out_h, out_w)`.
    area: `(low, high)` fraction of the image area, in (0, 1].
    aspect_ratio: `(low, high)` width / height ratios, positive.
{_RESAMPLE_ARGS} Boxes stay inside the image, so `mode` matters only
      when fused in a `chain` (default None: the other ops' mode).

  Returns:
    `(out_h, out_w, C)` image, dtype of `image`.

  Example:
    >>> out = random_resized_crop(jax.random.key(0), jnp.zeros((32, 32, 3)),
    ...                           size=24)
    >>> out.shape
    (24, 24, 3)
  """))


def _check_crop(image: jax.Array, size) -> tuple[int, int]:
  ch, cw = checks.check_size(size, "size")
  h, w = image.shape[:2]
  if ch > h or cw > w:
    raise ValueError(f"size {(ch, cw)} must not exceed the image size "
                     f"{(h, w)}")
  return ch, cw


def _random_crop_builder(*, size) -> GeometricOp:
  size = checks.check_size(size, "size")

  def sample(key, hw):
    if size[0] > hw[0] or size[1] > hw[1]:
      raise ValueError(f"size {size} must not exceed the image size {hw}")
    k_top, k_left = jax.random.split(key)
    top = jax.random.randint(k_top, (), 0, hw[0] - size[0] + 1)
    left = jax.random.randint(k_left, (), 0, hw[1] - size[1] + 1)
    return _translation(top, left), size

  return GeometricOp(sample, order=0, mode=None, axis_aligned=True)


@checks.with_channel_axis
def random_crop(key: jax.Array, image: ArrayLike, *, size: Size) -> jax.Array:
  """Crops a random `size` window at integer offsets (exact pixels).

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image.
    size: static crop size, int or `(h, w)`, not larger than the image.

  Returns:
    `(h, w, C)` crop, dtype of `image`.

  Raises:
    ValueError: `size` non-positive or larger than the image.
    TypeError: `size` not made of ints (`(2.5, 2)`, `2.0`).

  Example:
    >>> random_crop(jax.random.key(0), jnp.zeros((8, 8, 3)), size=5).shape
    (5, 5, 3)
  """
  checks.check_key(key)
  image = checks.check_image(image)
  ch, cw = _check_crop(image, size)
  m, _ = _random_crop_builder(size=(ch, cw)).sample(key, image.shape[:2])
  top = jnp.round(m[0, 2]).astype(jnp.int32)
  left = jnp.round(m[1, 2]).astype(jnp.int32)
  # Every index the same dtype: a Python 0 would be int64 under x64.
  zero = jnp.zeros((), jnp.int32)
  return jax.lax.dynamic_slice(image, (top, left, zero),
                               (ch, cw, image.shape[2]))


@checks.with_channel_axis
def center_crop(image: ArrayLike, *, size: Size) -> jax.Array:
  """Crops the central `size` window (top-left offset rounded down).

  Args:
    image: `(H, W, C)` float image.
    size: static crop size, int or `(h, w)`, not larger than the image.

  Returns:
    `(h, w, C)` crop.

  Raises:
    ValueError: `size` non-positive or larger than the image.
    TypeError: `size` not made of ints (`(2.5, 2)`, `2.0`).

  Example:
    >>> center_crop(jnp.zeros((8, 8, 3)), size=4).shape
    (4, 4, 3)
  """
  image = checks.check_image(image)
  ch, cw = _check_crop(image, size)
  top = (image.shape[0] - ch) // 2
  left = (image.shape[1] - cw) // 2
  return image[top:top + ch, left:left + cw]


_PAD_MODES = {"constant": "constant", "reflect": "symmetric",
              "mirror": "reflect", "edge": "edge", "nearest": "edge",
              "wrap": "wrap"}


@checks.with_channel_axis
def pad(image: ArrayLike,
        padding: Any,
        *,
        mode: str = "constant",
        cval: ArrayLike = 0.0) -> jax.Array:
  """Pads the spatial axes (exact; same modes as the resampler).

  Args:
    image: `(H, W, C)` float image.
    padding: static non-negative ints: `p` (all sides), `(ph, pw)`, or
      `((top, bottom), (left, right))`.
    mode: "constant" (`cval`), "reflect" (half-sample symmetric, numpy
      "symmetric"), "mirror" (whole-sample symmetric, numpy "reflect"),
      "edge"/"nearest" or "wrap".
    cval: fill value for mode "constant", in [0, 1] (may be traced).

  Returns:
    `(H + top + bottom, W + left + right, C)` image.

  Example:
    >>> pad(jnp.zeros((8, 8, 3)), 2, mode="reflect").shape
    (12, 12, 3)
  """
  image = checks.check_image(image)
  if mode not in _PAD_MODES:
    raise ValueError(f"mode must be one of {list(_PAD_MODES)}, got {mode!r}")
  try:
    arr = np.asarray(padding, dtype=np.int64)
    if arr.ndim == 0:
      widths = np.full((2, 2), arr)
    elif arr.shape == (2,):
      widths = np.stack([arr, arr], axis=1)
    else:
      widths = arr.reshape(2, 2)
  except (TypeError, ValueError) as e:
    raise ValueError("padding must be an int, (pad_h, pad_w) or ((top, "
                     f"bottom), (left, right)) of static ints, got {padding!r}"
                     ) from e
  if np.any(widths < 0):
    raise ValueError(f"padding must be non-negative, got {padding!r}")
  pw = [tuple(int(v) for v in row) for row in widths] + [(0, 0)]
  np_mode = _PAD_MODES[mode]
  if np_mode == "constant":
    fill = checks.clip(jnp.asarray(resample.check_cval(cval), image.dtype))
    return jnp.pad(image, pw, mode="constant", constant_values=fill)
  return jnp.pad(image, pw, mode=np_mode)


# --------------------------------------------------------------------------
# Deprecated keyword spellings (one release).

random_rotate = _renamed("random_rotate", random_rotate)
random_translate = _renamed("random_translate", random_translate)
random_affine = _renamed("random_affine", random_affine)

translate = deprecation.renamed_options(
    translate, deprecation.renamed({"offset": "translation"}), ["offset"])
scale = deprecation.renamed_options(
    scale, deprecation.renamed({"factor": "scale"}), ["factor"])


# --------------------------------------------------------------------------
# Registry of fusable random ops.

register_geometric(random_flip_left_right, _flip_builder(vertical=False))
register_geometric(random_flip_up_down, _flip_builder(vertical=True))
register_geometric(random_rotate, _renamed("random_rotate", _rotate_builder))
register_geometric(random_translate,
                   _renamed("random_translate", _translate_builder))
register_geometric(random_scale, _scale_builder)
register_geometric(random_shear, _shear_builder)
register_geometric(random_affine, _renamed("random_affine", _affine_builder))
register_geometric(random_resized_crop, _resized_crop_builder)
register_geometric(random_crop, _random_crop_builder)
