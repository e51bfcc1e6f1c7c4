"""Random field augmentations (Mansfield et al., arXiv 2311.03629).

Transformation parameters vary from pixel to pixel as smooth zero-mean
Gaussian random fields (`jaxaug.fields.gaussian_random_field`). The magnitude
of each transformation is the standard deviation of its field; the length
scale (pixels) sets how smoothly it varies, and a very large length scale
gives back the global transformation.

Geometric (`random_field_warp`): rotation phi (radians, positive is
counter-clockwise on screen), log-scale s, shear h and a 2-channel
translation t (pixels, (row, col)). With c the image centre, output pixel x
samples the input at

  x + u(x) = A(x) (x - c) + c + t(x),  A = R(phi) diag(exp s) Shear(h),

(R(phi) = [[cos, sin], [-sin, cos]] and Shear(h) = [[1, 0], [h, 1]] in (row,
col) coordinates) in one resampling pass.

Colour (`random_field_color`): per-pixel brightness factor exp(b), contrast
factor exp(k) around the channel means, saturation factor exp(s) and hue shift
(turns), applied in that order, each clipped to [0, 1] as the global ops are.

Units: translations and length scales are in pixels here (as everywhere in
jaxaug: `translate`, `fields.gaussian_random_field`); the presets
(`jaxaug.presets.field_augmentation`) give them as fractions of the image
side and name them so (`translation_fraction`, `length_scale_fraction`).

Images are `(H, W, C)` floats in [0, 1] (colour: C = 3, or 1 where only
brightness and contrast act); outputs keep shape and dtype and stay in
[0, 1]. Magnitudes and length scales may be traced (e.g. per example under
`vmap`); magnitudes that are concrete zeros skip their field entirely, and
all-zero magnitudes return the input unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxaug._src import checks
from jaxaug._src import color as color_lib
from jaxaug._src import deprecation
from jaxaug._src import fields as fields_lib
from jaxaug._src import resample

ArrayLike = jax.typing.ArrayLike

WARP_FIELDS = ("rotation", "scale", "shear", "translation")
COLOR_FIELDS = ("brightness", "contrast", "saturation", "hue")


def _is_zero(x: Any) -> bool:
  """True when `x` is concretely zero (then its field is skipped)."""
  v = checks.concrete_value(x)
  return v is not None and bool(np.all(v == 0))


def _default_length_scale(length_scale, h: int, w: int):
  if length_scale is None:
    return (h / 4.0, w / 4.0)
  return length_scale


def _sample(key, names, magnitudes, channels_per, shape, length_scale, dtype,
            spectrum, nu):
  """Draws all needed unit fields in one call and scales them."""
  # The field options are checked even when every magnitude is zero (no
  # field is drawn then): a bad length scale or spectrum is a bad call
  # whatever the magnitudes.
  checks.check_positive(length_scale, "length_scale")
  fields_lib._check_spectrum(spectrum, nu)  # pylint: disable=protected-access
  active = [(n, m, c) for n, m, c in zip(names, magnitudes, channels_per)
            if not _is_zero(m)]
  out = {n: None for n in names}
  if not active:
    return out
  for n, m, _ in active:
    checks.check_nonnegative(m, n)
  total = sum(c for _, _, c in active)
  unit = fields_lib.gaussian_random_field(
      key, shape, length_scale=length_scale, spectrum=spectrum, nu=nu,
      channels=total, dtype=dtype)
  i = 0
  for n, m, c in active:
    f = unit[i:i + c] * jnp.asarray(m, dtype)
    out[n] = f[0] if c == 1 else f
    i += c
  return out


def sample_warp_fields(key: jax.Array, shape, *, rotation: ArrayLike = 0.,
                       scale: ArrayLike = 0., shear: ArrayLike = 0.,
                       translation: ArrayLike = 0.,
                       length_scale: Optional[ArrayLike] = None,
                       spectrum: str = "gaussian", nu: float = 1.5
                       ) -> dict[str, Optional[jax.Array]]:
  """Samples the fields `random_field_warp` uses (one GRF call).

  Args:
    key: PRNG key.
    shape: static `(H, W)`.
    rotation, scale, shear, translation: standard deviations (radians,
      log-scale, shear, pixels); non-negative, traced ok.
    length_scale: pixels, scalar or (row, col); default `(H/4, W/4)`.
    spectrum, nu: field spectrum (see `gaussian_random_field`).

  Returns:
    dict with "rotation", "scale", "shear" `(H, W)` and "translation"
    `(2, H, W)` float32 arrays, or None for concretely-zero magnitudes.

  Example:
    >>> f = sample_warp_fields(jax.random.key(0), (32, 32), rotation=0.2)
    >>> f["rotation"].shape, f["scale"]
    ((32, 32), None)
  """
  h, w = checks.check_size(shape, "shape")
  return _sample(key, WARP_FIELDS, (rotation, scale, shear, translation),
                 (1, 1, 1, 2), (h, w), _default_length_scale(length_scale, h, w),
                 jnp.float32, spectrum, nu)


def sample_color_fields(key: jax.Array, shape, *, hue: ArrayLike = 0.,
                        saturation: ArrayLike = 0., brightness: ArrayLike = 0.,
                        contrast: ArrayLike = 0.,
                        length_scale: Optional[ArrayLike] = None,
                        spectrum: str = "gaussian", nu: float = 1.5
                        ) -> dict[str, Optional[jax.Array]]:
  """Samples the `(H, W)` fields `random_field_color` uses (one GRF call).

  Args:
    key: PRNG key.
    shape: static `(H, W)`.
    hue, saturation, brightness, contrast: field standard deviations (hue in
      turns, the others in log-factor units); non-negative, traced ok.
    length_scale: pixels, scalar or (row, col); default `(H/4, W/4)`.
    spectrum, nu: field spectrum (see `gaussian_random_field`).

  Returns:
    dict name -> `(H, W)` float32 field, or None for zero magnitudes.

  Example:
    >>> f = sample_color_fields(jax.random.key(0), (32, 32), hue=0.05)
    >>> f["hue"].shape
    (32, 32)
  """
  h, w = checks.check_size(shape, "shape")
  mags = dict(hue=hue, saturation=saturation, brightness=brightness,
              contrast=contrast)
  return _sample(key, COLOR_FIELDS, tuple(mags[n] for n in COLOR_FIELDS),
                 (1, 1, 1, 1), (h, w), _default_length_scale(length_scale, h, w),
                 jnp.float32, spectrum, nu)


@checks.with_channel_axis
def field_warp(image: ArrayLike, *, rotation: Optional[ArrayLike] = None,
               scale: Optional[ArrayLike] = None,
               shear: Optional[ArrayLike] = None,
               translation: Optional[ArrayLike] = None, mode: str = "reflect",
               order: int = 1, cval: ArrayLike = 0.) -> jax.Array:
  """Deterministic per-pixel warp from given parameter fields.

  Output pixel x samples the input at A(x)(x - c) + c + t(x) with
  A = R(rotation) diag(exp scale) Shear(shear) (see the module docstring).
  Constant fields give the global affine transform about the centre.

  Args:
    image: `(H, W, C)` float image in [0, 1].
    rotation: radians, scalar or `(H, W)`; None = 0.
    scale: log-scale, scalar or `(H, W)`; None = 0.
    shear: shear factor, scalar or `(H, W)`; None = 0.
    translation: pixels, `(2,)` or `(2, H, W)` as (row, col); None = 0.
    mode: boundary mode of `jaxaug.map_coordinates` ("reflect", "mirror",
      "constant", "edge", "wrap").
    order: interpolation order, 0, 1 (default) or 3.
    cval: fill value for mode "constant".

  Returns:
    Warped image, same shape and dtype, in [0, 1]. With every field None
    (or zero) the input is returned exactly.

  Raises:
    ValueError, TypeError: bad image, mode or order.

  Example:
    >>> out = field_warp(jnp.zeros((8, 8, 3)), rotation=0.1)
  """
  image = checks.check_image(image)
  resample.check_order(order)
  resample.normalize_mode(mode)
  h, w, _ = image.shape
  if all(f is None for f in (rotation, scale, shear, translation)):
    return image
  dt = jnp.float32
  grid = resample.identity_grid(h, w, dtype=dt)
  centre = jnp.asarray([(h - 1) / 2.0, (w - 1) / 2.0], dt)[:, None, None]
  d = grid - centre
  zero = jnp.zeros((h, w), dt)

  def field(f):
    return zero if f is None else jnp.broadcast_to(jnp.asarray(f, dt), (h, w))

  phi, s, sh = field(rotation), field(scale), field(shear)
  cos, sin, es = jnp.cos(phi), jnp.sin(phi), jnp.exp(s)
  # A = R diag(e^s) Shear with R = [[c, s], [-s, c]], Shear = [[1, 0], [h, 1]].
  a00 = es * (cos + sin * sh)
  a01 = es * sin
  a10 = es * (-sin + cos * sh)
  a11 = es * cos
  # u = (A - I) d + t, so zero fields give u = 0 exactly (no rounding).
  u_row = (a00 - 1.0) * d[0] + a01 * d[1]
  u_col = a10 * d[0] + (a11 - 1.0) * d[1]
  u = jnp.stack([u_row, u_col])
  if translation is not None:
    t = jnp.asarray(translation, dt)
    if t.ndim == 1:
      t = t[:, None, None]
    u = u + jnp.broadcast_to(t, (2, h, w))
  # map_coordinates clips to [0, 1] (bilinear weights sum to 1 only up to
  # rounding: an all-ones image came out at 1.0000001 before).
  return resample.map_coordinates(image, grid + u, order=order, mode=mode,
                                  cval=cval)


@checks.with_channel_axis
def random_field_warp(key: jax.Array, image: ArrayLike, *,
                      rotation: ArrayLike = 0., scale: ArrayLike = 0.,
                      shear: ArrayLike = 0., translation: ArrayLike = 0.,
                      length_scale: Optional[ArrayLike] = None,
                      mode: str = "reflect", order: int = 1,
                      cval: ArrayLike = 0., spectrum: str = "gaussian",
                      nu: float = 1.5) -> jax.Array:
  """Warps an image by random rotation/scale/shear/translation fields.

  Each magnitude is the standard deviation of a zero-mean Gaussian random
  field (radians, log-scale, shear factor, pixels per axis); all fields are
  drawn in one `gaussian_random_field` call and applied in one resampling
  pass (see the module docstring for the displacement).

  Args:
    key: PRNG key.
    image: `(H, W, C)` float image in [0, 1].
    rotation: std of the rotation field, radians (>= 0, traced ok).
    scale: std of the log-scale field (>= 0, traced ok).
    shear: std of the shear field (>= 0, traced ok).
    translation: std of each translation component, pixels (>= 0).
    length_scale: field length scale in pixels, scalar or (row, col), traced
      ok; default a quarter of each image side.
    mode: boundary mode ("reflect", "mirror", "constant", "edge", "wrap").
    order: interpolation order 0, 1 or 3 (static).
    cval: fill value for mode "constant".
    spectrum, nu: field spectrum, as in `gaussian_random_field`.

  Returns:
    Warped image, same shape and dtype, in [0, 1]. Zero magnitudes return the
    input exactly.

  Raises:
    ValueError: negative magnitude, non-positive length scale, bad mode/order
      or image. TypeError: bad key or non-float image.

  Example:
    >>> img = jnp.zeros((32, 32, 3))
    >>> out = random_field_warp(jax.random.key(0), img, rotation=0.2)
  """
  checks.check_key(key)
  image = checks.check_image(image)
  h, w, _ = image.shape
  f = sample_warp_fields(key, (h, w), rotation=rotation, scale=scale,
                         shear=shear, translation=translation,
                         length_scale=length_scale, spectrum=spectrum, nu=nu)
  return field_warp(image, mode=mode, order=order, cval=cval, **f)


@checks.with_channel_axis
def field_color(image: ArrayLike, *, hue: Optional[ArrayLike] = None,
                saturation: Optional[ArrayLike] = None,
                brightness: Optional[ArrayLike] = None,
                contrast: Optional[ArrayLike] = None) -> jax.Array:
  """Deterministic per-pixel colour transform from given fields.

  Applies, in order: brightness x * exp(b) (`scale_brightness`); contrast
  m + exp(k)(x - m) with m the per-channel image mean (`adjust_contrast`);
  saturation factor exp(s) (`adjust_saturation`); hue shift (turns,
  `adjust_hue`), all in the "tf" convention and with per-pixel factors
  (the kernels of `color_jitter`). Each step clips to [0, 1]. On a grey
  `(H, W, 1)` image saturation and hue are the identity. Log-factors are
  bounded to +-log(finfo.max) / 2 (+-44 in float32; factors beyond that
  saturate every pixel already), so huge fields give finite outputs.

  Args:
    image: `(H, W, 3)` float RGB image in [0, 1], or `(H, W, 1)` grey.
    hue, saturation, brightness, contrast: scalars or `(H, W)` fields; None
      skips the step.

  Returns:
    Image of the same shape and dtype in [0, 1]; all None returns the input.

  Raises:
    ValueError: not a rank-3 image with 1 or 3 channels, or a concrete value
      outside [0, 1]. TypeError: non-float.

  Example:
    >>> out = field_color(jnp.full((8, 8, 3), 0.5), brightness=0.1)
  """
  x, dtype = checks.image_in(image, channels=(1, 3))
  hw = x.shape[:2]

  # Log-factors beyond +-half the log of the largest float give factors
  # (1e19 in float32) that saturate every pixel already; bounding them keeps
  # exp finite, so no inf * 0 = NaN in the blend (a huge field magnitude).
  log_bound = 0.5 * float(np.log(jnp.finfo(x.dtype).max))

  def field(f, exp):
    f = jnp.broadcast_to(jnp.asarray(f, x.dtype), hw)
    return jnp.exp(jnp.clip(f, -log_bound, log_bound)) if exp else f

  # The ops of color_jitter (0 brightness, 1 contrast, 2 saturation, 3 hue)
  # with per-pixel factors, in this order, skipping those that are None.
  steps = [(op, f) for op, f in enumerate((brightness, contrast, saturation,
                                           hue)) if f is not None]
  if not steps:
    return checks.image_out(x, dtype)
  one = jnp.ones((), x.dtype)
  f_b = one if brightness is None else field(brightness, True)
  f_c = one if contrast is None else field(contrast, True)
  f_s = one if saturation is None else field(saturation, True)
  d_h = jnp.zeros((), x.dtype) if hue is None else field(hue, False)
  order = [op for op, _ in steps]
  # Two or more steps run as a scan (one compiled step: see _color_steps).
  order = np.asarray(order, np.int32) if len(order) > 1 else tuple(order)
  out = color_lib._color_steps(x, order, f_b, f_c, f_s, d_h)  # pylint: disable=protected-access
  return checks.image_out(out, dtype)


@checks.with_channel_axis
def random_field_color(key: jax.Array, image: ArrayLike, *, hue: ArrayLike = 0.,
                       saturation: ArrayLike = 0., brightness: ArrayLike = 0.,
                       contrast: ArrayLike = 0.,
                       length_scale: Optional[ArrayLike] = None,
                       spectrum: str = "gaussian",
                       nu: float = 1.5) -> jax.Array:
  """Per-pixel random hue, saturation, brightness and contrast fields.

  Each magnitude is the standard deviation of a zero-mean Gaussian random
  field: hue shift in turns, and log-factors for brightness, contrast and
  saturation (factor exp(field)); see `field_color` for the formulas.

  Args:
    key: PRNG key.
    image: `(H, W, 3)` float RGB image in [0, 1], or `(H, W, 1)` grey (hue
      and saturation then have no effect).
    hue: std of the hue-shift field, turns (>= 0, traced ok).
    saturation: std of the log saturation factor (>= 0, traced ok).
    brightness: std of the log brightness factor (>= 0, traced ok).
    contrast: std of the log contrast factor (>= 0, traced ok).
    length_scale: pixels, scalar or (row, col), traced ok; default a quarter
      of each image side.
    spectrum, nu: field spectrum, as in `gaussian_random_field`.

  Returns:
    Image of the same shape and dtype in [0, 1]; zero magnitudes return the
    input exactly.

  Raises:
    ValueError: not 1 or 3 channels, negative magnitude, bad length scale,
      or a concrete image value outside [0, 1]. TypeError: bad key or
      non-float image.

  Example:
    >>> img = jnp.full((32, 32, 3), 0.5)
    >>> out = random_field_color(jax.random.key(0), img, hue=0.05)
  """
  checks.check_key(key)
  image = checks.check_image(image, channels=(1, 3))
  h, w, _ = image.shape
  f = sample_color_fields(key, (h, w), hue=hue, saturation=saturation,
                          brightness=brightness, contrast=contrast,
                          length_scale=length_scale, spectrum=spectrum, nu=nu)
  return field_color(image, **f)


# Magnitudes per setting. Translation and length scale are fractions of the
# image side (converted to pixels per call: `translation_fraction * side`);
# the rest are field standard deviations (radians, log-scale, shear, turns,
# log-factors).
SETTINGS: dict[str, dict[str, float]] = {
    "mild": dict(rotation=0.06, scale=0.05, shear=0.05,
                 translation_fraction=0.01, hue=0.02, saturation=0.15,
                 brightness=0.08, contrast=0.08, length_scale_fraction=0.25),
    "medium": dict(rotation=0.15, scale=0.12, shear=0.12,
                   translation_fraction=0.025, hue=0.05, saturation=0.3,
                   brightness=0.18, contrast=0.18, length_scale_fraction=0.2),
    "strong": dict(rotation=0.5, scale=0.35, shear=0.4,
                   translation_fraction=0.08, hue=0.15, saturation=0.7,
                   brightness=0.4, contrast=0.4, length_scale_fraction=0.12),
}

# Override names before 0.2 (fractions of the side under pixel-unit names).
_OLD_OVERRIDES = {"translation": "translation_fraction",
                  "length_scale": "length_scale_fraction"}


def field_augmentation(setting: str = "mild", **overrides: Any
                       ) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """Builds `fn(key, image)`: random field warp, then random field colour.

  Args:
    setting: "mild" (objects clearly recognisable), "medium" or "strong"
      (visibly destroys structure); see `SETTINGS`.
    **overrides: any of rotation, scale, shear (field standard deviations,
      as in `random_field_warp`), translation_fraction (standard deviation
      of the translation field as a fraction of the smaller image side),
      hue, saturation, brightness, contrast (as in `random_field_color`),
      length_scale_fraction (field length scale as a fraction of the
      smaller side), plus mode, order, spectrum, nu. Set a magnitude to 0 to
      drop that field. `translation=` and `length_scale=` are deprecated
      spellings of the two fractions.

  Returns:
    `fn(key, image) -> image` for `(H, W, C)` images in [0, 1]; colour fields
    need 1 or 3 channels (for other channel counts set the colour magnitudes
    to 0). The fractions become pixels, `fraction * min(H, W)`: the result
    is `field_warp` then `field_color` with the fields of
    `sample_warp_fields` / `sample_color_fields` at those pixel values, all
    drawn in one `gaussian_random_field` call.

  Raises:
    ValueError: unknown setting or override name, a concrete negative
      magnitude or a non-positive length scale.

  Example:
    >>> aug = field_augmentation("mild", hue=0.0)
    >>> out = aug(jax.random.key(0), jnp.zeros((32, 32, 3)))
  """
  checks.check_choice(setting, "setting", list(SETTINGS))
  params = dict(SETTINGS[setting])
  extra = dict(mode="reflect", order=1, spectrum="gaussian", nu=1.5)
  old = sorted(set(overrides) & set(_OLD_OVERRIDES))
  if old:
    deprecation.warn(
        f"field_augmentation({', '.join(f'{k}=' for k in old)}) is "
        "deprecated, use "
        f"{', '.join(f'{_OLD_OVERRIDES[k]}=' for k in old)} (the same "
        "fractions of the image side)")
    for k in old:
      new = _OLD_OVERRIDES[k]
      if new in overrides:
        raise TypeError(f"field_augmentation: got both the deprecated {k}= "
                        f"and {new}=; pass only {new}=")
      overrides[new] = overrides.pop(k)
  for name, value in overrides.items():
    if name in params:
      params[name] = value
    elif name in extra:
      extra[name] = value
    else:
      raise ValueError(f"unknown override {name!r}; expected one of "
                       f"{sorted(list(params) + list(extra))}")
  checks.check_positive(params["length_scale_fraction"],
                        "length_scale_fraction")
  for name in WARP_FIELDS[:3] + ("translation_fraction",) + COLOR_FIELDS:
    checks.check_nonnegative(params[name], name)

  @jax.jit
  def compiled(key: jax.Array, image: jax.Array) -> jax.Array:
    h, w, _ = image.shape
    side = float(min(h, w))
    magnitudes = dict(params)
    magnitudes["translation"] = _times(params["translation_fraction"], side)
    # Warp and colour fields share the length scale: one field sampling
    # call (one FFT) for all of them, as random_field_warp and
    # random_field_color each do for theirs.
    names = WARP_FIELDS + COLOR_FIELDS
    f = _sample(key, names, tuple(magnitudes[n] for n in names),
                (1, 1, 1, 2, 1, 1, 1, 1), (h, w),
                _times(params["length_scale_fraction"], side), jnp.float32,
                extra["spectrum"], extra["nu"])
    out = field_warp(image, mode=extra["mode"], order=extra["order"],
                     **{n: f[n] for n in WARP_FIELDS})
    colors = {n: f[n] for n in COLOR_FIELDS}
    if all(v is None for v in colors.values()):
      return out
    return field_color(out, **colors)

  def fn(key: jax.Array, image: ArrayLike) -> jax.Array:
    # One compiled function (as the SimCLR presets), the image checked first
    # while it is still concrete.
    checks.check_key(key)
    return compiled(key, checks.check_image(image))

  return fn


def _times(x, side):
  return x * side if isinstance(x, (int, float)) else jnp.asarray(x) * side


random_field_augmentation = deprecation.alias(
    field_augmentation, "jaxaug.random_field_augmentation",
    "jaxaug.presets.field_augmentation")
