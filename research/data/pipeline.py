"""Host-side sources of uint8 batches: the embedded digits and tfds datasets.

Two kinds of source share one interface, `iterate(start_step)`:

* `ArraySource` holds a dataset in host memory (the embedded digits). Batch
  `s` takes indices `perm(seed, epoch)[i * B:(i + 1) * B]` of a permutation
  drawn per epoch from `numpy.random.default_rng((seed, epoch))`; this host
  keeps its `process_index`-th slice of them.
* `TfdsSource` streams a `tensorflow_datasets` split. The split is divided
  evenly between hosts (`tfds.even_splits`), records are shuffled with a fixed
  seed (`reshuffle_each_iteration`, so every epoch has a new but reproducible
  order), repeated, and only then decoded and resized to a fixed square, so
  resuming at step `s` skips `s * B_local` undecoded records cheaply.

In both cases the stream of batches is a pure function of `(seed, step)`,
which is what makes a resumed run bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator

import numpy as np

from research.data import digits as digits_lib

Batch = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """Split names and class count of one supported dataset."""

  train: str
  probe_train: str
  test: str
  num_classes: int
  manual: str = ""


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec("train", "train", "test", 10),
    "cifar10": DatasetSpec("train", "train", "test", 10),
    "cifar100": DatasetSpec("train", "train", "test", 100),
    # Self-supervised STL-10 pre-trains on the 100k unlabelled images too.
    "stl10": DatasetSpec("train+unlabelled", "train", "test", 10),
    "imagenet2012": DatasetSpec(
        "train", "train", "validation", 1000,
        manual=("imagenet2012 cannot be downloaded by tfds: put "
                "ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar in "
                "<data_dir>/downloads/manual/ first. ")),
    "i_naturalist2021": DatasetSpec("train", "train", "val", 10000),
}


class DatasetError(RuntimeError):
  """A dataset is missing, unreadable or unknown; the message says what to do."""


def _check_name(name: str) -> DatasetSpec:
  if name not in DATASETS:
    raise DatasetError(
        f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
  return DATASETS[name]


def num_classes(name: str) -> int:
  """Number of classes of a supported dataset (e.g. 10 for "digits")."""
  return _check_name(name).num_classes


def _how_to_prepare(name: str, data_dir: str | None) -> str:
  where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
  return (f"{DATASETS[name].manual}Prepare it once with "
          f"`tfds build {name} --data_dir={where}` (or "
          f"tfds.builder({name!r}, data_dir=...).download_and_prepare()), "
          f"then pass that directory as --config.data.data_dir. To run without "
          f"any download, use --config.data.dataset=digits.")


def check_prepared(name: str, data_dir: str | None) -> None:
  """Fails fast, without importing TensorFlow, if a tfds dataset is absent.

  Only looks for the dataset's folder (`<data_dir>/<name>`); whether its
  files are complete is checked when they are opened. The embedded digits
  always pass.

  Raises:
    DatasetError: unknown dataset, or no folder for it, with the command
      that prepares it.
  """
  _check_name(name)
  if name == "digits":
    return
  where = os.path.expanduser(data_dir or os.environ.get(
      "TFDS_DATA_DIR", "~/tensorflow_datasets"))
  folder = os.path.join(where, name)
  if not os.path.isdir(folder):
    raise DatasetError(
        f"tfds dataset {name!r} was not found: there is no folder {folder} "
        f"(data_dir={where!r}). {_how_to_prepare(name, data_dir)}")


def _check_batch(global_batch_size: int, process_count: int) -> int:
  if global_batch_size <= 0 or global_batch_size % process_count:
    raise ValueError(
        f"batch_size={global_batch_size} must be a positive multiple of the "
        f"number of hosts ({process_count})")
  return global_batch_size // process_count


def _process_info(process_index, process_count):
  if process_index is None or process_count is None:
    import jax  # pylint: disable=g-import-not-at-top
    process_index = jax.process_index()
    process_count = jax.process_count()
  return int(process_index), int(process_count)


class ArraySource:
  """Infinite, reproducibly shuffled batches from arrays held in memory.

  Args:
    images: uint8 (N, H, W, 3).
    labels: int (N,).
    batch_size: global batch size (all hosts together).
    seed: data-order seed.
    process_index, process_count: this host's slot; default from JAX.

  Example:
    >>> images, labels = load_digits("train")
    >>> source = ArraySource(images, labels, batch_size=32, seed=0)
    >>> next(source.iterate(10))["label"].shape
    (32,)
  """

  def __init__(self, images: np.ndarray, labels: np.ndarray, *,
               batch_size: int, seed: int, process_index: int | None = None,
               process_count: int | None = None):
    self.images = np.asarray(images)
    self.labels = np.asarray(labels, np.int32)
    if self.images.dtype != np.uint8 or self.images.ndim != 4:
      raise ValueError("images must be uint8 (N, H, W, C), got "
                       f"{self.images.dtype} {self.images.shape}")
    self.process_index, self.process_count = _process_info(
        process_index, process_count)
    self.global_batch_size = int(batch_size)
    self.local_batch_size = _check_batch(self.global_batch_size,
                                         self.process_count)
    if self.global_batch_size > len(self.images):
      raise ValueError(f"batch_size={batch_size} exceeds the dataset size "
                       f"{len(self.images)}")
    self.seed = int(seed)
    # Drop the remainder so every epoch has the same number of full batches.
    self.steps_per_epoch = len(self.images) // self.global_batch_size

  def indices(self, step: int) -> np.ndarray:
    """Dataset indices of this host's part of global batch `step`."""
    epoch, within = divmod(int(step), self.steps_per_epoch)
    perm = np.random.default_rng((self.seed, epoch)).permutation(
        len(self.images))
    start = within * self.global_batch_size + (
        self.process_index * self.local_batch_size)
    return perm[start:start + self.local_batch_size]

  def batch(self, step: int) -> Batch:
    """This host's part of global batch `step`: uint8 images, int32 labels."""
    idx = self.indices(step)
    return {"image": self.images[idx], "label": self.labels[idx]}

  def iterate(self, start_step: int = 0) -> Iterator[Batch]:
    """Yields batches `start_step, start_step + 1, ...` forever."""
    step = int(start_step)
    while True:
      yield self.batch(step)
      step += 1


def _import_tfds():
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  # tf.data must not take the accelerator from JAX.
  tf.config.set_visible_devices([], "GPU")
  return tf, tfds


def _decode_and_resize(tf, image_bytes, size: int):
  """Decode, resize the shorter side to `size`, centre-crop a square; uint8."""
  image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
  shape = tf.shape(image)
  h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
  scale = tf.cast(size, tf.float32) / tf.minimum(h, w)
  new_h = tf.maximum(size, tf.cast(tf.round(h * scale), tf.int32))
  new_w = tf.maximum(size, tf.cast(tf.round(w * scale), tf.int32))
  image = tf.image.resize(image, (new_h, new_w), method="bilinear",
                          antialias=True)
  top = (new_h - size) // 2
  left = (new_w - size) // 2
  image = image[top:top + size, left:left + size]
  image = tf.clip_by_value(tf.round(image), 0.0, 255.0)
  return tf.ensure_shape(tf.cast(image, tf.uint8), (size, size, 3))


def _load_tfds(name: str, split: str, *, data_dir, seed, shuffle_files,
               process_index, process_count):
  tf, tfds = _import_tfds()
  try:
    host_split = tfds.even_splits(split, n=process_count)[process_index]
    read_config = tfds.ReadConfig(shuffle_seed=seed)
    ds = tfds.load(name, split=host_split, data_dir=data_dir, download=False,
                   shuffle_files=shuffle_files, read_config=read_config,
                   decoders={"image": tfds.decode.SkipDecoding()})
  except Exception as e:  # tfds raises AssertionError, OSError, ValueError...
    check_prepared(name, data_dir)
    folder = os.path.join(os.path.expanduser(data_dir or os.environ.get(
        "TFDS_DATA_DIR", "~/tensorflow_datasets")), name)
    raise DatasetError(
        f"could not open tfds dataset {name!r} split {split!r} in {folder}: "
        f"incomplete or corrupt ({type(e).__name__}: {e}). Delete {folder} "
        f"and rebuild it. {_how_to_prepare(name, data_dir)}") from e
  return tf, ds


def _guarded(iterator, name, data_dir):
  """Re-raises read errors of a tf.data iterator as DatasetError."""
  tf, _ = _import_tfds()
  # Bound now: at interpreter exit the tf module may already be torn down.
  read_errors = (tf.errors.OpError, ValueError)
  try:
    yield from iterator
  except read_errors as e:
    raise DatasetError(
        f"reading tfds dataset {name!r} from data_dir={data_dir!r} failed "
        f"({type(e).__name__}: {e}); the files look corrupt or incomplete. "
        f"Delete the dataset folder and rebuild it. "
        f"{_how_to_prepare(name, data_dir)}") from e


def _maybe_encoded(tf, images, size):
  """Maps raw (already decoded under mocks) or encoded images to uint8."""
  if images.dtype == tf.string:
    return _decode_and_resize(tf, images, size)
  image = tf.image.resize(images, (size, size), method="bilinear",
                          antialias=True)
  image = tf.clip_by_value(tf.round(image), 0.0, 255.0)
  return tf.ensure_shape(tf.cast(image, tf.uint8), (size, size, 3))


class TfdsSource:
  """Infinite, reproducibly shuffled uint8 batches from a tfds split.

  Args:
    name: tfds name, one of `DATASETS` except "digits".
    split: tfds split expression, e.g. "train" or "train[:10%]".
    batch_size: global batch size (all hosts together).
    image_size: side of the square uint8 images produced on the host.
    seed: seed of the file order and the record shuffle.
    data_dir: tfds data directory (None: tfds default / $TFDS_DATA_DIR).
    shuffle_buffer: records in the shuffle buffer.
    process_index, process_count: this host's slot; default from JAX.

  Raises:
    DatasetError: the dataset is not prepared in `data_dir` or unreadable.
  """

  def __init__(self, name: str, split: str, *, batch_size: int,
               image_size: int, seed: int, data_dir: str | None = None,
               shuffle_buffer: int = 10_000, process_index: int | None = None,
               process_count: int | None = None):
    _check_name(name)
    self.name, self.split, self.data_dir = name, split, data_dir
    self.process_index, self.process_count = _process_info(
        process_index, process_count)
    self.global_batch_size = int(batch_size)
    self.local_batch_size = _check_batch(self.global_batch_size,
                                         self.process_count)
    self.image_size = int(image_size)
    self.seed = int(seed)
    self.shuffle_buffer = int(shuffle_buffer)
    # Open once now so a missing dataset fails before any compilation.
    self._dataset(0)

  def _dataset(self, start_step: int):
    tf, ds = _load_tfds(self.name, self.split, data_dir=self.data_dir,
                        seed=self.seed, shuffle_files=True,
                        process_index=self.process_index,
                        process_count=self.process_count)
    ds = ds.shuffle(self.shuffle_buffer, seed=self.seed,
                    reshuffle_each_iteration=True).repeat()
    ds = ds.skip(int(start_step) * self.local_batch_size)
    size = self.image_size

    def prepare(example):
      return {"image": _maybe_encoded(tf, example["image"], size),
              "label": tf.cast(example["label"], tf.int32)}

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    ds = ds.batch(self.local_batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)

  def iterate(self, start_step: int = 0) -> Iterator[Batch]:
    """Yields this host's part of batches `start_step, ...` forever."""
    ds = self._dataset(start_step)
    return _guarded(ds.as_numpy_iterator(), self.name, self.data_dir)


def make_source(name: str, *, batch_size: int, seed: int, split: str | None = None,
                image_size: int = 32, data_dir: str | None = None,
                shuffle_buffer: int = 10_000, process_index: int | None = None,
                process_count: int | None = None):
  """The training source of a dataset by name.

  Args:
    name: "digits" (embedded, offline) or a tfds name in `DATASETS`.
    batch_size: global batch size over all hosts.
    seed: data-order seed.
    split: split to read; default the dataset's pre-training split.
    image_size: host-side square image size (uint8).
    data_dir: tfds data directory.
    shuffle_buffer: tfds shuffle buffer (records).
    process_index, process_count: override JAX's host slot (tests).

  Returns:
    An `ArraySource` or `TfdsSource`; `source.iterate(step)` yields dicts with
    "image" uint8 (B_local, image_size, image_size, 3) and "label" int32.

  Raises:
    DatasetError: unknown, missing or unreadable dataset.

  Example:
    >>> source = make_source("digits", batch_size=8, seed=0)
    >>> next(source.iterate())["image"].shape
    (8, 32, 32, 3)
  """
  spec = _check_name(name)
  split = split or spec.train
  if name == "digits":
    images, labels = digits_lib.load_digits(split, size=image_size)
    return ArraySource(images, labels, batch_size=batch_size, seed=seed,
                       process_index=process_index, process_count=process_count)
  return TfdsSource(name, split, batch_size=batch_size, image_size=image_size,
                    seed=seed, data_dir=data_dir, shuffle_buffer=shuffle_buffer,
                    process_index=process_index, process_count=process_count)


def load_eval_arrays(name: str, split: str, *, image_size: int = 32,
                     data_dir: str | None = None,
                     max_examples: int | None = None):
  """A whole (or the first `max_examples` of an) evaluation split in memory.

  Deterministic order, no shuffling, not sharded by host (every host
  evaluates on the same images), centre-cropped to `image_size`.

  Args:
    name: dataset name ("digits" or a tfds name).
    split: split name; "probe_train" and "test" map to the dataset's own
      names (e.g. "validation" for imagenet2012).
    image_size: square side.
    data_dir: tfds data directory.
    max_examples: cap on the number of images (None: all).

  Returns:
    `(images, labels)`: uint8 (N, S, S, 3) and int32 (N,).

  Raises:
    DatasetError: unknown, missing or unreadable dataset.

  Example:
    >>> images, labels = load_eval_arrays("digits", "test")
    >>> len(images)
    297
  """
  spec = _check_name(name)
  split = {"probe_train": spec.probe_train, "test": spec.test}.get(split, split)
  if name == "digits":
    images, labels = digits_lib.load_digits(split, size=image_size)
  else:
    tf, ds = _load_tfds(name, split, data_dir=data_dir, seed=0,
                        shuffle_files=False, process_index=0, process_count=1)
    if max_examples is not None:
      ds = ds.take(max_examples)
    ds = ds.map(lambda ex: {"image": _maybe_encoded(tf, ex["image"], image_size),
                            "label": tf.cast(ex["label"], tf.int32)},
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(1024).prefetch(2)
    parts = list(_guarded(ds.as_numpy_iterator(), name, data_dir))
    if not parts:
      raise DatasetError(f"split {split!r} of {name!r} is empty. "
                         f"{_how_to_prepare(name, data_dir)}")
    images = np.concatenate([p["image"] for p in parts])
    labels = np.concatenate([p["label"] for p in parts])
  if max_examples is not None:
    images, labels = images[:max_examples], labels[:max_examples]
  return np.asarray(images), np.asarray(labels, np.int32)
