"""The embedded dataset: scikit-learn's handwritten digits as 32x32 RGB.

1,797 real 8x8 grey images with values 0..16 (10 classes) ship with
scikit-learn, so every script runs offline. They are scaled to 0..255,
upsampled bilinearly (half-pixel centres, as `jax.image.resize`) to 32x32,
repeated to 3 channels and split once, stratified by class with seed 0, into
1,500 training and 297 test images.
"""

from __future__ import annotations

import functools

import numpy as np

DIGITS_NUM_TRAIN = 1500
DIGITS_NUM_TEST = 297
_SPLIT_SEED = 0


def _interp_matrix(in_size: int, out_size: int) -> np.ndarray:
  """(out_size, in_size) matrix of linear-interpolation weights."""
  # Half-pixel centres, edges clamped: the convention of jax.image.resize.
  centres = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
  centres = np.clip(centres, 0.0, in_size - 1)
  lo = np.floor(centres).astype(np.int64)
  hi = np.minimum(lo + 1, in_size - 1)
  frac = centres - lo
  weights = np.zeros((out_size, in_size), np.float64)
  weights[np.arange(out_size), lo] += 1.0 - frac
  weights[np.arange(out_size), hi] += frac
  return weights


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
  """Bilinear resize of a stack of grey images on the host.

  Args:
    images: float array (N, H, W), any range.
    size: output side length.

  Returns:
    float64 array (N, size, size), same range (convex combinations).

  Example:
    >>> resize_bilinear(np.ones((2, 8, 8)), 32).shape
    (2, 32, 32)
  """
  images = np.asarray(images, np.float64)
  rows = _interp_matrix(images.shape[1], size)
  cols = _interp_matrix(images.shape[2], size)
  return np.einsum("oh,nhw,pw->nop", rows, images, cols)


def _stratified_split(labels: np.ndarray, num_test: int, seed: int):
  """Train/test indices with every class in the test set in proportion."""
  rng = np.random.default_rng(seed)
  classes = np.unique(labels)
  counts = np.array([np.sum(labels == c) for c in classes])
  # Largest-remainder allocation so the test set has exactly num_test images.
  quota = counts * num_test / len(labels)
  take = np.floor(quota).astype(int)
  order = np.argsort(-(quota - take), kind="stable")
  take[order[: num_test - take.sum()]] += 1
  test = []
  for c, k in zip(classes, take):
    members = np.flatnonzero(labels == c)
    test.extend(rng.permutation(members)[:k])
  test = np.sort(np.array(test))
  train = np.setdiff1d(np.arange(len(labels)), test)
  return train, test


@functools.lru_cache(maxsize=4)
def _load(size: int):
  from sklearn import datasets  # pylint: disable=g-import-not-at-top

  digits = datasets.load_digits()
  grey = resize_bilinear(digits.images * (255.0 / 16.0), size)
  images = np.clip(np.round(grey), 0, 255).astype(np.uint8)
  images = np.repeat(images[..., None], 3, axis=-1)
  labels = digits.target.astype(np.int32)
  train, test = _stratified_split(labels, DIGITS_NUM_TEST, _SPLIT_SEED)
  return {
      "train": (images[train], labels[train]),
      "test": (images[test], labels[test]),
  }


def load_digits(split: str = "train", *, size: int = 32):
  """The embedded digits split as numpy arrays.

  Args:
    split: "train" (1,500 images) or "test" (297 images).
    size: image side after upsampling from 8x8.

  Returns:
    `(images, labels)`: uint8 (N, size, size, 3) in [0, 255] and int32 (N,)
    in [0, 10). Read-only views of a cached copy.

  Raises:
    ValueError: unknown split.

  Example:
    >>> images, labels = load_digits("test")
    >>> images.shape, labels.max()
    ((297, 32, 32, 3), 9)
  """
  data = _load(int(size))
  if split not in data:
    raise ValueError(f"digits split must be 'train' or 'test', got {split!r}")
  images, labels = data[split]
  images = images.view()
  labels = labels.view()
  images.flags.writeable = False
  labels.flags.writeable = False
  return images, labels
