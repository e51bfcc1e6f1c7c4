"""The on-device augmentation of a run, built from `config.augment`."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections

import jaxaug

Augmentation = Callable[[jax.Array, jax.Array], jax.Array]


def make_augment(augment: ml_collections.ConfigDict) -> Augmentation:
  """The single-image augmentation `aug(key, image) -> image` of a config.

  Args:
    augment: the `augment` sub-config (`research/configs/base.py`).

  Returns:
    `aug(key, image)`: `(H, W, 3)` float image in [0, 1] to
    `(crop_size, crop_size, 3)` (presets simclr / simclr_cifar), or the same
    shape (flip, none).

  Raises:
    ValueError: unknown preset (naming `augment.preset`).
  """
  if augment.preset in ("simclr_cifar", "simclr"):
    preset = (jaxaug.presets.simclr_cifar if augment.preset == "simclr_cifar"
              else jaxaug.presets.simclr)
    return preset(augment.crop_size, strength=augment.strength,
                  area=tuple(augment.area),
                  random_order=augment.random_order,
                  random_field=random_field_spec(augment))
  if augment.preset == "flip":
    # Cheap to compile: for smoke tests of the training machinery.
    return jaxaug.random_flip_left_right
  if augment.preset == "none":
    return lambda key, image: image
  raise ValueError(f"config field augment.preset={augment.preset!r}; choose "
                   f"simclr_cifar, simclr, flip or none")


def random_field_spec(augment: ml_collections.ConfigDict) -> dict | None:
  """The `random_field=` argument of the presets for an augment config.

  The named setting's magnitudes times `random_field_strength`, and its
  length scale unless `random_field_length_scale` (a fraction of the image
  side) is set. None when `random_field` is "" (off).
  """
  if not augment.random_field:
    return None
  setting = jaxaug.presets.RANDOM_FIELD_SETTINGS[augment.random_field]
  spec = {"setting": augment.random_field}
  t = float(augment.random_field_strength)
  if t != 1.0:
    spec.update({k: t * v for k, v in setting.items()
                 if k != "length_scale_fraction"})
  if augment.random_field_length_scale > 0:
    spec["length_scale_fraction"] = float(augment.random_field_length_scale)
  return spec


def mix(key: jax.Array, images: jax.Array, labels: jax.Array,
        augment: ml_collections.ConfigDict, num_classes: int
        ) -> tuple[jax.Array, jax.Array]:
  """Batch-level mixing of `augment.mixing` with soft labels.

  mixup (Zhang et al. 2018) and cutmix (Yun et al. 2019) draw their ratio
  from Beta(`augment.mixing_alpha`, same); resizemix (Qin et al. 2020) pastes
  the partner shrunk by a factor from U(0.1, 0.8), the paper's range. One
  draw per batch, partners from a permutation of the batch (`jaxaug`).

  Args:
    key: PRNG key.
    images: `(B, h, w, 3)` float augmented views in [0, 1].
    labels: `(B,)` int class labels.
    augment: the `augment` sub-config.
    num_classes: K.

  Returns:
    `(images, soft_labels)`: mixed images of the input shape and `(B, K)`
    float32 labels whose weights are the pixel fractions of each source.

  Raises:
    ValueError: unknown or "none" `augment.mixing`.
  """
  ops = {"mixup": jaxaug.mixup, "cutmix": jaxaug.cutmix}
  if augment.mixing in ops:
    return ops[augment.mixing](key, images, labels,
                               alpha=float(augment.mixing_alpha),
                               num_classes=num_classes)
  if augment.mixing == "resizemix":
    return jaxaug.resizemix(key, images, labels, scale=(0.1, 0.8),
                            num_classes=num_classes)
  raise ValueError(f"config field augment.mixing={augment.mixing!r}; choose "
                   f"mixup, cutmix or resizemix")


def views(key: jax.Array, images: jax.Array, aug: Augmentation,
          num_views: int) -> jax.Array:
  """`num_views` augmented views of a uint8 batch, view-major.

  Args:
    key: PRNG key.
    images: uint8 `(B, H, W, 3)`.
    aug: single-image augmentation.
    num_views: 1 or 2.

  Returns:
    float32 `(num_views * B, h, w, 3)` in [0, 1]: all first views, then all
    second views.
  """
  images = jaxaug.to_float(images)
  if num_views == 2:
    v1, v2 = jaxaug.presets.two_views(key, images, aug)
    return jnp.concatenate([v1, v2], axis=0)
  if num_views == 1:
    return jaxaug.batch(aug)(key, images)
  raise ValueError(f"num_views must be 1 or 2, got {num_views}")
