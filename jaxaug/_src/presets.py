"""Ready-made augmentation pipelines: SimCLR recipes and random fields.

Every preset returns `fn(key, image) -> image` for one `(H, W, C)` float
image in [0, 1], RGB (C = 3) or grey (C = 1), or another layout with
`channel_axis=` (convert uint8 images with `jaxaug.to_float` first; integer
images raise a TypeError). Presets that crop return `(size, size, C)` (or
`(size_h, size_w, C)`) whatever the input size. Pipelines are built with
`jaxaug.chain`, so the random resized crop and the flip are fused into one
resampling pass, and run as one `jax.jit`-compiled function (the image is
checked first), so a callable given for the `random_field` slot must be
jittable. Each returned function carries an `ops` attribute: the
`(name, fn)` steps in the order they run, for inspection.
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import jax
import jax.numpy as jnp

from jaxaug._src import checks
from jaxaug._src import color
from jaxaug._src import compose
from jaxaug._src import deprecation
from jaxaug._src import field_augment
from jaxaug._src import filters
from jaxaug._src import geometric
from jaxaug._src import utils

Augmentation = Callable[[jax.Array, jax.Array], jax.Array]
RandomFieldSpec = Union[None, str, Mapping[str, Any], Augmentation]

field_augmentation = field_augment.field_augmentation

# The named random field settings: magnitude of each field and its length
# scale (read-only view of the table `field_augmentation` starts from).
RANDOM_FIELD_SETTINGS: Mapping[str, Mapping[str, float]] = types.MappingProxyType(
    {name: types.MappingProxyType(dict(values))
     for name, values in field_augment.SETTINGS.items()})


random_field = deprecation.alias(field_augmentation,
                                 "jaxaug.presets.random_field",
                                 "jaxaug.presets.field_augmentation")


def _field_op(spec: RandomFieldSpec) -> Optional[Augmentation]:
  if spec is None:
    return None
  if isinstance(spec, str):
    return field_augmentation(spec)
  if isinstance(spec, Mapping):
    options = dict(spec)
    setting = options.pop("setting", "mild")
    return field_augmentation(setting, **options)
  if callable(spec):
    return spec
  raise TypeError(f"random_field must be None, a setting name ('mild', "
                  f"'medium', 'strong'), a dict of overrides or a callable "
                  f"fn(key, image), got {type(spec).__name__}")


def _pipeline(steps: Sequence[tuple[str, Augmentation]], doc: str, *,
              channel_axis: int = -1) -> Augmentation:
  # One compiled function for the whole pipeline (inlined under an outer
  # jit). Eagerly, and under an eager jax.grad, the steps would otherwise run
  # op by op: the gradient of the mild random-field preset took 2x longer to
  # compile that way. The image is checked before, while still concrete.
  checks.check_channel_axis(channel_axis, 3)
  chained = jax.jit(compose.chain(*(fn for _, fn in steps)))

  def augment(key: jax.Array, image: jax.typing.ArrayLike) -> jax.Array:
    checks.check_key(key)
    image = checks.check_image(image, channels=(1, 3),
                               channel_axis=channel_axis)
    axis = channel_axis % 3
    out = chained(key, jnp.moveaxis(image, axis, -1))
    return jnp.moveaxis(out, -1, axis)

  augment.ops = tuple(steps)
  augment.__doc__ = doc
  return augment


def simclr(size: Union[int, Sequence[int]], *, strength: float = 1.0,
           area: tuple[float, float] = (0.08, 1.0),
           blur: bool = True, random_order: bool = True,
           random_field: RandomFieldSpec = None,  # pylint: disable=redefined-outer-name
           convention: str = "tf",
           channel_axis: int = -1) -> Augmentation:
  """SimCLR's ImageNet augmentation (Chen et al., 2020, google-research/simclr).

  Steps, in order:
    1. `random_resized_crop` to `size` (area fraction `area`, 0.08-1 by
       default, aspect 3/4-4/3, bilinear; the original uses bicubic);
    2. `random_flip_left_right` (p = 0.5), fused with the crop;
    3. optional random field augmentation (`random_field` not None), applied
       to the cropped image;
    4. `color_jitter` with brightness = contrast = saturation = 0.8 s and
       hue = 0.2 s in the colour `convention`, clip after each op, applied
       with p = 0.8; the four ops run in a random order per image unless
       `random_order=False` (then brightness, contrast, saturation, hue, as
       SimCLR's `color_jitter(..., random_order=False)`);
    5. `random_grayscale` (p = 0.2);
    6. if `blur`: `random_gaussian_blur` with sigma uniform in [0.1, 2.0],
       kernel 10% of the (smaller) side made odd
       (`filters.simclr_kernel_size`), applied with p = 0.5.

  A grey `(H, W, 1)` image goes through the same steps (saturation, hue and
  grayscale conversion are then the identity).

  Args:
    size: static output side, int or `(height, width)`.
    strength: colour strength s >= 0 (1.0 for ImageNet; at most 2.5 so that
      the hue strength stays <= 0.5).
    area: `(min, max)` fraction of the image area kept by the crop, in
      (0, 1] (SimCLR and torchvision's `scale`: (0.08, 1.0)). Small images
      with little detail (e.g. upsampled 8x8 digits) need a larger minimum.
    blur: include the Gaussian blur step.
    random_order: shuffle the colour jitter ops per image (SimCLR's default).
    random_field: None (off), a setting name "mild"/"medium"/"strong", a
      dict of overrides for `field_augmentation` (optionally with a
      "setting" key), or any `fn(key, image) -> image` to use in that slot.
    convention: colour jitter convention, "tf" (default: SimCLR's
      TensorFlow code) or "torchvision" (torchvision's ColorJitter, as in
      PyTorch SimCLR reproductions); see `jaxaug.color_jitter`.
    channel_axis: the axis of the input image that holds the channels
      (default -1, `(H, W, C)`; 0 for `(C, H, W)`); the output uses the same
      layout.

  Returns:
    `fn(key, image) -> image`: `(H, W, C)` float image in [0, 1] (any H, W;
    C = 3 or 1) to `(size_h, size_w, C)` of the same dtype, in [0, 1]. Its
    `ops` attribute lists the `(name, fn)` steps.

  Raises:
    ValueError: bad `size`, `strength` or `convention`, or `channel_axis`
      outside [-3, 2]. TypeError: bad `random_field`, a non-int
      `channel_axis`.

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> aug = jaxaug.presets.simclr(24)
    >>> aug(jax.random.key(0), jnp.full((32, 32, 3), .5)).shape
    (24, 24, 3)
  """
  size = checks.check_size(size, "size")
  checks.check_scalar(strength, "strength")
  checks.check_range(strength, "strength", 0.0, 2.5)
  checks.check_choice(convention, "convention", color.CONVENTIONS)
  s = strength
  steps: list[tuple[str, Augmentation]] = [
      ("random_resized_crop",
       functools.partial(geometric.random_resized_crop, size=size,
                         area=area, aspect_ratio=(3 / 4, 4 / 3))),
      ("random_flip_left_right",
       functools.partial(geometric.random_flip_left_right, probability=0.5)),
  ]
  field = _field_op(random_field)
  if field is not None:
    steps.append(("random_field", field))
  steps += [
      ("color_jitter",
       compose.with_probability(
           functools.partial(color.color_jitter, brightness=0.8 * s,
                             contrast=0.8 * s, saturation=0.8 * s,
                             hue=0.2 * s, random_order=random_order,
                             convention=convention), 0.8)),
      ("random_grayscale",
       functools.partial(color.random_grayscale, probability=0.2)),
  ]
  if blur:
    steps.append(
        ("random_gaussian_blur",
         compose.with_probability(
             functools.partial(filters.random_gaussian_blur,
                               sigma=(0.1, 2.0),
                               kernel_size=filters.simclr_kernel_size(size)),
             0.5)))
  return _pipeline(
      steps, f"SimCLR augmentation to size {size}, strength {strength}, "
      f"blur={blur}, random_field={random_field!r}, "
      f"convention={convention!r}.", channel_axis=channel_axis)


def simclr_cifar(size: Union[int, Sequence[int]] = 32, *,
                 strength: float = 0.5,
                 area: tuple[float, float] = (0.08, 1.0),
                 random_order: bool = True,
                 random_field: RandomFieldSpec = None,  # pylint: disable=redefined-outer-name
                 convention: str = "tf",
                 channel_axis: int = -1) -> Augmentation:
  """SimCLR's CIFAR augmentation: `simclr(size, strength=0.5, blur=False)`.

  Args:
    size: static output side (32 for CIFAR), int or `(height, width)`;
      positional-only, like `simclr(size)`.
    strength: colour strength s (0.5 for CIFAR-10 in the paper).
    area: crop area fraction range, as in `simclr`.
    random_order: as in `simclr`.
    random_field: as in `simclr`.
    convention: as in `simclr`.
    channel_axis: as in `simclr`.

  Returns:
    `fn(key, image) -> image` giving `(size, size, C)` images in [0, 1].

  Raises:
    ValueError / TypeError: as `simclr`.

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> aug = jaxaug.presets.simclr_cifar()
    >>> aug(jax.random.key(0), jnp.full((32, 32, 3), .5)).shape
    (32, 32, 3)
  """
  return simclr(size, strength=strength, area=area, blur=False,
                random_order=random_order, random_field=random_field,
                convention=convention, channel_axis=channel_axis)


def two_views(key: jax.Array, images: jax.typing.ArrayLike,
              aug: Augmentation, *,
              chunk_size: Union[int, str, None] = "auto"
              ) -> tuple[jax.Array, jax.Array]:
  """Two independently augmented views of every image in a batch.

  `2 B` keys are split from `key`, one per (view, example), so no two views
  share randomness; `aug` is `vmap`-ed over them. The values do not depend
  on `chunk_size` (up to float rounding: XLA may fuse a chunk's computation
  differently from the whole batch's, a difference of about 1e-6).

  Chunks (cache blocking, as `jaxaug.batch`): on a CPU a batch of large
  images runs faster in chunks of a few images, each chunk's two views
  computed by one `vmap` in a `lax.map`, than as one `vmap` over the batch,
  because a chunk's views and intermediates stay in the CPU caches (on the
  2-core benchmark CPU, SimCLR's 224x224 pipeline ran 1.5x faster in chunks
  of 4 images; research/benchmarks/README.md). Chunk `j` holds images
  `j, j + B / chunk_size, j + 2 B / chunk_size, ...`, so a batch axis
  sharded in contiguous blocks over D devices stays sharded in every chunk
  when D divides `chunk_size` (otherwise the values are the same but XLA
  gathers the batch).

  Args:
    key: PRNG key.
    images: `(B, H, W, C)` float images in [0, 1].
    aug: `fn(key, image) -> image`, e.g. `simclr(224)`.
    chunk_size: images per chunk, a positive int dividing `B`; None for one
      `vmap` over the whole batch; "auto" (default): on the CPU backend
      with a single device, chunks of about 5 MiB of float32 views of the
      input size (the largest divisor of `B` not above
      `5 MiB / (2 * H * W * C * 4 bytes)` images: 4 at 224x224x3), used
      only when the batch spans at least 4 chunks; otherwise (GPU, TPU,
      several devices, small batches) None.

  Returns:
    `(views1, views2)`, each `(B, ...)` with the per-image output shape of
    `aug` (e.g. `(B, size, size, C)`).

  Raises:
    TypeError: bad key, non-float images, non-callable `aug`.
    ValueError: `images` not of rank 4; `chunk_size` not a positive int
      dividing `B`, None or "auto".

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> v1, v2 = jaxaug.presets.two_views(
    ...     jax.random.key(0), jnp.full((4, 32, 32, 3), .5),
    ...     jaxaug.presets.simclr_cifar())
    >>> v1.shape
    (4, 32, 32, 3)
  """
  checks.check_key(key)
  images = checks.check_image(images, name="images", ndim=4)
  if not callable(aug):
    raise TypeError(f"aug must be a callable fn(key, image), got "
                    f"{type(aug).__name__}")
  chunk_size = utils.check_chunk_size(chunk_size, images.shape[0])
  keys = jax.random.split(key, 2 * images.shape[0])
  keys = keys.reshape((2, images.shape[0]) + keys.shape[1:])
  views = utils.map_views(aug, keys, images, chunk_size)
  return (jax.tree.map(lambda a: a[0], views),
          jax.tree.map(lambda a: a[1], views))
