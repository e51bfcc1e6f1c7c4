"""Batch-level mixing: mixup, cutmix and resizemix.

Unlike the other jaxaug ops these take a whole batch: `images` of shape
`(B, H, W, C)` float in [0, 1] and `labels` either integer class indices of
shape `(B,)` (then `num_classes=` is required) or one-hot / soft labels of
shape `(B, K)`. Each example `i` is mixed with a partner `perm[i]`, where
`perm` is a random permutation of the batch (an example may be its own
partner, which leaves it unchanged). One mixing coefficient is drawn per
batch, as in the papers. Every op returns `(mixed_images, mixed_labels)`
with `mixed_labels` of shape `(B, K)`, float32, rows summing to 1, and the
label weight equal to the fraction of the image each source contributes.
"""

from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp

from jaxaug._src import boxes
from jaxaug._src import checks


def _check_labels(images: jax.Array, labels: Any,
                  num_classes: Optional[int]) -> jax.Array:
  """Returns `(B, K)` float32 labels, checking them against the batch."""
  if not hasattr(labels, "ndim"):
    labels = jnp.asarray(labels)
  b = images.shape[0]
  if labels.ndim == 1:
    if num_classes is None:
      raise ValueError("num_classes must be given when labels are integer "
                       f"class indices of shape (B,), got labels shape "
                       f"{tuple(labels.shape)}")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
      raise TypeError(f"labels of shape (B,) must be integer class indices, "
                      f"got dtype {labels.dtype}")
    if not isinstance(num_classes, int) or num_classes <= 0:
      raise ValueError(f"num_classes must be a positive int, got "
                       f"{num_classes!r}")
    if labels.shape[0] != b:
      raise ValueError(f"labels must have shape (B,) = ({b},) or (B, K), got "
                       f"{tuple(labels.shape)}")
    v = checks.concrete_value(labels)
    if v is not None and v.size and (v.min() < 0 or v.max() >= num_classes):
      bad = v[(v < 0) | (v >= num_classes)]
      raise ValueError(f"labels must be class indices in [0, {num_classes}) "
                       f"(num_classes={num_classes}), got {bad.tolist()[:8]}"
                       " out of range")
    return jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)
  if labels.ndim == 2:
    if labels.shape[0] != b:
      raise ValueError(f"labels must have shape (B, K) with B = {b}, got "
                       f"{tuple(labels.shape)}")
    if num_classes is not None and labels.shape[1] != num_classes:
      raise ValueError(f"labels have {labels.shape[1]} classes but "
                       f"num_classes={num_classes}")
    return jnp.asarray(labels, jnp.float32)
  raise ValueError(f"labels must have shape (B,) (class indices) or (B, K) "
                   f"(one-hot or soft), got {tuple(labels.shape)}")


def _prepare(key: Any, images: Any, labels: Any,
             num_classes: Optional[int]) -> tuple[jax.Array, jax.Array]:
  checks.check_key(key)
  images = checks.check_image(images, name="images", ndim=4)
  return images, _check_labels(images, labels, num_classes)


def _paste_box(images: jax.Array, partner: jax.Array, top: jax.Array,
               left: jax.Array, box_h: jax.Array,
               box_w: jax.Array) -> jax.Array:
  mask = boxes.box_mask(images.shape[1:3], top, left, box_h, box_w)
  return jnp.where(mask, partner, images)


def mixup(key: jax.Array, images: jax.typing.ArrayLike,
          labels: jax.typing.ArrayLike, *, alpha: Any = 1.0,
          num_classes: Optional[int] = None) -> tuple[jax.Array, jax.Array]:
  """Mixup (Zhang et al., 2018): convex combination of example pairs.

  `lam ~ Beta(alpha, alpha)` (one per batch); `mixed_images[i] =
  lam * images[i] + (1 - lam) * images[perm[i]]` and the same for labels.

  Args:
    key: PRNG key.
    images: `(B, H, W, C)` float images in [0, 1].
    labels: `(B,)` integer class indices (with `num_classes`) or `(B, K)`
      one-hot / soft labels.
    alpha: Beta concentration, > 0; may be traced. Small alpha gives lam
      near 0 or 1 (little mixing), alpha = 1 gives lam uniform.
    num_classes: number of classes K, required for integer labels.

  Returns:
    `(mixed_images, mixed_labels)`: images of the input shape and dtype in
    [0, 1], labels `(B, K)` float32 with rows summing to 1. Differentiable
    with respect to `images`.

  Raises:
    TypeError: bad key, non-float images, or non-integer `(B,)` labels.
    ValueError: `alpha <= 0`, images not rank 4, or labels of the wrong
      shape / missing `num_classes`, or concrete integer labels outside
      [0, num_classes).

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> x, y = jaxaug.mixup(jax.random.key(0), jnp.zeros((4, 8, 8, 3)),
    ...                     jnp.arange(4), num_classes=10)
    >>> y.shape
    (4, 10)
  """
  checks.check_positive(alpha, "alpha")
  images, labels = _prepare(key, images, labels, num_classes)
  k_lam, k_perm = jax.random.split(key)
  lam = jax.random.beta(k_lam, alpha, alpha)
  perm = jax.random.permutation(k_perm, images.shape[0])
  x = images.astype(checks.compute_dtype(images.dtype))
  lam_x = lam.astype(x.dtype)
  mixed = lam_x * x + (1 - lam_x) * x[perm]
  mixed_labels = lam * labels + (1 - lam) * labels[perm]
  return checks.image_out(mixed, images.dtype), mixed_labels


def cutmix(key: jax.Array, images: jax.typing.ArrayLike,
           labels: jax.typing.ArrayLike, *, alpha: Any = 1.0,
           num_classes: Optional[int] = None) -> tuple[jax.Array, jax.Array]:
  """CutMix (Yun et al., 2019): paste a box of the partner image.

  `lam ~ Beta(alpha, alpha)`; a box of side `sqrt(1 - lam)` times the image
  side, centred at a uniform random pixel, is clipped to the image and its
  edges rounded to whole pixels; inside it every example shows its partner
  `images[perm[i]]` (same box for the whole batch). The label weight of the
  partner is the ACTUAL pasted fraction `box_area / (H * W)` after clipping
  and rounding, so labels match pixels exactly.

  Args:
    key: PRNG key.
    images: `(B, H, W, C)` float images in [0, 1].
    labels: `(B,)` integer class indices (with `num_classes`) or `(B, K)`.
    alpha: Beta concentration, > 0; may be traced.
    num_classes: number of classes K, required for integer labels.

  Returns:
    `(mixed_images, mixed_labels)` as for `mixup`.

  Raises:
    TypeError / ValueError: as for `mixup`.

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> x, y = jaxaug.cutmix(jax.random.key(0), jnp.zeros((4, 8, 8, 3)),
    ...                      jax.nn.one_hot(jnp.arange(4), 4))
    >>> x.shape, y.shape
    ((4, 8, 8, 3), (4, 4))
  """
  checks.check_positive(alpha, "alpha")
  images, labels = _prepare(key, images, labels, num_classes)
  h, w = images.shape[1:3]
  k_lam, k_y, k_x, k_perm = jax.random.split(key, 4)
  lam = jax.random.beta(k_lam, alpha, alpha)
  cut = jnp.sqrt(jnp.clip(1.0 - lam, 0.0, 1.0))
  cy = jax.random.uniform(k_y) * h
  cx = jax.random.uniform(k_x) * w
  y0 = jnp.clip(jnp.round(cy - cut * h / 2), 0, h)
  y1 = jnp.clip(jnp.round(cy + cut * h / 2), 0, h)
  x0 = jnp.clip(jnp.round(cx - cut * w / 2), 0, w)
  x1 = jnp.clip(jnp.round(cx + cut * w / 2), 0, w)
  perm = jax.random.permutation(k_perm, images.shape[0])
  mixed = _paste_box(images, images[perm], y0, x0, y1 - y0, x1 - x0)
  pasted = (y1 - y0) * (x1 - x0) / (h * w)
  mixed_labels = (1 - pasted) * labels + pasted * labels[perm]
  return mixed.astype(images.dtype), mixed_labels


def resizemix(key: jax.Array, images: jax.typing.ArrayLike,
              labels: jax.typing.ArrayLike, *,
              scale: tuple[Any, Any] = (0.1, 0.8),
              num_classes: Optional[int] = None
              ) -> tuple[jax.Array, jax.Array]:
  """ResizeMix (Qin et al., 2020): paste a shrunk copy of the partner image.

  `tau ~ U(scale)`; the whole partner image `images[perm[i]]` is resized
  (bilinear with antialiasing, `jax.image.scale_and_translate`, so the size
  may be traced) to a box of `round(tau H) x round(tau W)` pixels placed at
  a uniform random position, the same for the whole batch. The partner's
  label weight is the box area fraction `round(tau H) round(tau W) / (H W)`.

  Args:
    key: PRNG key.
    images: `(B, H, W, C)` float images in [0, 1].
    labels: `(B,)` integer class indices (with `num_classes`) or `(B, K)`.
    scale: `(low, high)` range of the side ratio tau, within [0, 1].
    num_classes: number of classes K, required for integer labels.

  Returns:
    `(mixed_images, mixed_labels)` as for `mixup`.

  Raises:
    TypeError / ValueError: as for `mixup`; `scale` outside [0, 1].

  Example:
    >>> import jax, jax.numpy as jnp, jaxaug
    >>> x, y = jaxaug.resizemix(jax.random.key(0), jnp.zeros((4, 8, 8, 3)),
    ...                         jnp.arange(4), num_classes=4)
    >>> x.shape
    (4, 8, 8, 3)
  """
  s_lo, s_hi = checks.check_interval(scale, "scale", 0.0, 1.0)
  images, labels = _prepare(key, images, labels, num_classes)
  h, w = images.shape[1:3]
  k_tau, k_y, k_x, k_perm = jax.random.split(key, 4)
  tau = jax.random.uniform(k_tau, minval=s_lo, maxval=s_hi)
  box_h = jnp.clip(jnp.round(tau * h), 0, h)
  box_w = jnp.clip(jnp.round(tau * w), 0, w)
  top = jnp.minimum(jnp.floor(jax.random.uniform(k_y) * (h - box_h + 1)),
                    h - box_h)
  left = jnp.minimum(jnp.floor(jax.random.uniform(k_x) * (w - box_w + 1)),
                     w - box_w)
  perm = jax.random.permutation(k_perm, images.shape[0])
  # A zero-sized box would give a zero scale; any positive stand-in is fine
  # because nothing is pasted then.
  sy = jnp.maximum(box_h, 1.0) / h
  sx = jnp.maximum(box_w, 1.0) / w
  x = images.astype(checks.compute_dtype(images.dtype))
  small = jax.image.scale_and_translate(
      x[perm], x.shape, (1, 2), jnp.stack([sy, sx]).astype(jnp.float32),
      jnp.stack([top, left]).astype(jnp.float32), method="linear",
      antialias=True)
  small = checks.image_out(small, images.dtype)
  mixed = _paste_box(images, small, top, left, box_h, box_w)
  pasted = box_h * box_w / (h * w)
  mixed_labels = (1 - pasted) * labels + pasted * labels[perm]
  return mixed.astype(images.dtype), mixed_labels
