"""The host-side input pipeline (grain): uint8 batches from indexed records.

Every dataset goes through one pipeline, `BatchSource`, over a random-access
record source: `ArraySource` for arrays in memory (the embedded digits),
`TfdsSource` for a tfds split in ArrayRecord files (`tfds.data_source`).

* Sampling (`GlobalBatchSampler`): epoch `e` is the permutation
  `numpy.random.default_rng((seed, e)).permutation(N)`; global batch `s` is
  its slice `[i * B, (i + 1) * B)` (`e, i = divmod(s, N // B)`, the
  remainder of each epoch dropped), and process `p` of `P` reads the
  sub-slice `[p * B / P, (p + 1) * B / P)` of it. The global batch is the
  same whatever the number of processes, and the records of batch `s` are a
  pure function of `(seed, s, p)`: resuming at step `s` computes one
  permutation and reads the `B / P` records it needs, the same cost at step
  10 as at step 100,000.
* Reading: `grain.MapDataset.range(s, ...)` of steps, each mapped to this
  process's batch of that step (`BatchSource.batch`: the records, where
  tfds images are decoded and resized, stacked). `to_iter_dataset` reads
  batches ahead in threads and `mp_prefetch` spreads them over
  `num_workers` worker processes; the batches do not depend on either.

The data position of a run is thus its step: the checkpointed step is the
whole iterator state.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, Sequence

import numpy as np

from research.data import datasets
from research.data import digits as digits_lib
from research.data import tfds_records

Batch = dict[str, np.ndarray]

# Far beyond any run (grain datasets have a length).
_STREAM_END = 2**62


def _check_batch(global_batch_size: int, process_count: int) -> int:
  if global_batch_size <= 0 or global_batch_size % process_count:
    raise datasets.BatchSizeError(
        f"config field data.batch_size={global_batch_size} must be a positive "
        f"multiple of the number of processes ({process_count})")
  return global_batch_size // process_count


def _process_info(process_index, process_count):
  if process_index is None or process_count is None:
    import jax  # pylint: disable=g-import-not-at-top
    process_index = jax.process_index()
    process_count = jax.process_count()
  return int(process_index), int(process_count)


@functools.lru_cache(maxsize=4)
def _epoch_permutation(seed: int, epoch: int, num_records: int) -> np.ndarray:
  # Cached because every position of an epoch asks for it; the value
  # depends only on the arguments.
  perm = np.random.default_rng((seed, epoch)).permutation(num_records)
  perm.setflags(write=False)
  return perm


class GlobalBatchSampler:
  """Which records make up this process's part of each global batch.

  Args:
    num_records: records in the split (N).
    global_batch_size: B, over all processes.
    seed: data-order seed.
    process_index, process_count: this process's slot p of P.

  Raises:
    research.data.datasets.BatchSizeError (a ValueError): B is not a
      positive multiple of P, or exceeds N.
  """

  def __init__(self, num_records: int, global_batch_size: int, seed: int,
               process_index: int, process_count: int):
    self.num_records = int(num_records)
    self.global_batch_size = int(global_batch_size)
    self.seed = int(seed)
    self.process_index, self.process_count = process_index, process_count
    self.local_batch_size = _check_batch(self.global_batch_size,
                                         self.process_count)
    if self.global_batch_size > self.num_records:
      raise datasets.BatchSizeError(
          f"config field data.batch_size={global_batch_size} exceeds the "
          f"number of training examples ({self.num_records}); choose "
          f"data.batch_size <= {self.num_records}")
    # Drop the remainder so every epoch has the same number of full batches.
    self.steps_per_epoch = self.num_records // self.global_batch_size

  def indices(self, step: int) -> np.ndarray:
    """Record indices of this process's part of global batch `step`."""
    epoch, within = divmod(int(step), self.steps_per_epoch)
    perm = _epoch_permutation(self.seed, epoch, self.num_records)
    start = within * self.global_batch_size + (
        self.process_index * self.local_batch_size)
    return perm[start:start + self.local_batch_size]


class ArrayRecords:
  """Arrays in memory as records `{"image": uint8 (H, W, C), "label": int}`."""

  def __init__(self, images: np.ndarray, labels: np.ndarray):
    self.images = np.asarray(images)
    self.labels = np.asarray(labels, np.int32)
    if self.images.dtype != np.uint8 or self.images.ndim != 4:
      raise ValueError("images must be uint8 (N, H, W, C), got "
                       f"{self.images.dtype} {self.images.shape}")

  def __len__(self) -> int:
    return len(self.images)

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    return {"image": self.images[index], "label": self.labels[index]}

  def read_batch(self, indices: np.ndarray) -> Batch:
    """Records `indices` stacked (one gather instead of one per record)."""
    return {"image": self.images[indices], "label": self.labels[indices]}


def _allow_grain_flags() -> None:
  # grain reads its options from absl flags; a program that parses its own
  # flags (our CLI uses a private FlagValues) or none (tests) leaves the
  # global ones unparsed, which grain's worker start refuses.
  from absl import flags  # pylint: disable=g-import-not-at-top
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


class BatchSource:
  """Infinite uint8 batches of one process from a random-access source.

  Args:
    records: `len(records)` and `records[i] -> {"image": uint8 (S, S, 3),
      "label": int}`; picklable if `num_workers > 0`.
    batch_size: global batch size (all processes together).
    seed: data-order seed.
    num_workers: worker processes that read and decode (0: this process).
    num_threads: batches read ahead in threads by each reading process.
    process_index, process_count: this process's slot; default from JAX.
  """

  def __init__(self, records: Any, *, batch_size: int, seed: int,
               num_workers: int = 0, num_threads: int = 8,
               process_index: int | None = None,
               process_count: int | None = None):
    self.records = records
    process_index, process_count = _process_info(process_index, process_count)
    self.sampler = GlobalBatchSampler(len(records), batch_size, seed,
                                      process_index, process_count)
    self.num_workers = int(num_workers)
    self.num_threads = int(num_threads)
    self.process_index, self.process_count = process_index, process_count
    self.global_batch_size = self.sampler.global_batch_size
    self.local_batch_size = self.sampler.local_batch_size
    self.steps_per_epoch = self.sampler.steps_per_epoch
    self.seed = self.sampler.seed

  def indices(self, step: int) -> np.ndarray:
    """Record indices of this process's part of global batch `step`."""
    return self.sampler.indices(step)

  def batch(self, step: int) -> Batch:
    """This process's part of global batch `step` (uint8 images, int32
    labels), read where it is called."""
    indices = self.indices(step)
    if hasattr(self.records, "read_batch"):
      batch = self.records.read_batch(indices)
    else:
      records = [self.records[int(i)] for i in indices]
      batch = {"image": np.stack([r["image"] for r in records]),
               "label": np.asarray([r["label"] for r in records])}
    return {"image": np.asarray(batch["image"], np.uint8),
            "label": np.asarray(batch["label"], np.int32)}

  def dataset(self, start_step: int = 0):
    """The grain pipeline of batches `start_step, start_step + 1, ...`."""
    import grain  # pylint: disable=g-import-not-at-top
    _allow_grain_flags()
    ds = grain.MapDataset.range(int(start_step), _STREAM_END).map(self.batch)
    ds = ds.to_iter_dataset(grain.ReadOptions(
        num_threads=self.num_threads,
        prefetch_buffer_size=max(2, self.num_threads)))
    if self.num_workers:
      ds = ds.mp_prefetch(grain.MultiprocessingOptions(
          num_workers=self.num_workers, per_worker_buffer_size=2))
    return ds

  def iterate(self, start_step: int = 0) -> Iterator[Batch]:
    """Yields this process's part of batches `start_step, ...` forever."""
    for batch in self.dataset(start_step):
      yield {"image": np.asarray(batch["image"], np.uint8),
             "label": np.asarray(batch["label"], np.int32)}


class ArraySource(BatchSource):
  """`BatchSource` over images and labels held in memory.

  Args:
    images: uint8 (N, H, W, 3).
    labels: int (N,).
    **kwargs: `BatchSource`'s arguments (batch_size, seed, ...).

  Example:
    >>> images, labels = load_digits("train")
    >>> source = ArraySource(images, labels, batch_size=32, seed=0)
    >>> next(source.iterate(10))["label"].shape
    (32,)
  """

  def __init__(self, images: np.ndarray, labels: np.ndarray, **kwargs):
    # Records are slices of arrays: nothing to decode, no threads needed.
    kwargs.setdefault("num_threads", 0)
    super().__init__(ArrayRecords(images, labels), **kwargs)
    self.images, self.labels = self.records.images, self.records.labels


class TfdsSource(BatchSource):
  """`BatchSource` over a tfds split in ArrayRecord files.

  Args:
    name: tfds name, one of `DATASETS` except "digits".
    split: tfds split expression, e.g. "train" or "train[:10%]".
    image_size: side of the square uint8 images produced on the host.
    data_dir: tfds data directory (None: tfds default / $TFDS_DATA_DIR).
    **kwargs: `BatchSource`'s arguments (batch_size, seed, num_workers, ...).

  Raises:
    DatasetError: the dataset is not prepared in `data_dir` or unreadable.
  """

  def __init__(self, name: str, split: str, *, image_size: int,
               data_dir: str | None = None, **kwargs):
    datasets.spec(name)
    self.name, self.split, self.data_dir = name, split, data_dir
    self.image_size = int(image_size)
    super().__init__(tfds_records.TfdsRecords(
        name, split, image_size=image_size, data_dir=data_dir), **kwargs)


def make_source(name: str, *, batch_size: int, seed: int,
                split: str | None = None, image_size: int = 32,
                data_dir: str | None = None, num_workers: int = 0,
                process_index: int | None = None,
                process_count: int | None = None) -> BatchSource:
  """The training source of a dataset by name.

  Args:
    name: "digits" (embedded, offline) or a tfds name in `DATASETS`.
    batch_size: global batch size over all processes.
    seed: data-order seed.
    split: split to read; default the dataset's pre-training split.
    image_size: host-side square image size (uint8).
    data_dir: tfds data directory.
    num_workers: grain worker processes reading and decoding records.
    process_index, process_count: override JAX's process slot (tests).

  Returns:
    A `BatchSource`; `source.iterate(step)` yields dicts with "image" uint8
    (B_local, image_size, image_size, 3) and "label" int32 (B_local,).

  Raises:
    DatasetError: unknown, missing or unreadable dataset.

  Example:
    >>> source = make_source("digits", batch_size=8, seed=0)
    >>> next(source.iterate())["image"].shape
    (8, 32, 32, 3)
  """
  split = split or datasets.spec(name).train
  kwargs = dict(batch_size=batch_size, seed=seed, num_workers=num_workers,
                process_index=process_index, process_count=process_count)
  if name == "digits":
    images, labels = digits_lib.load_digits(split, size=image_size)
    return ArraySource(images, labels, **kwargs)
  return TfdsSource(name, split, image_size=image_size, data_dir=data_dir,
                    **kwargs)


def _read_in_order(records, count: int, num_workers: int) -> Sequence[Batch]:
  import grain  # pylint: disable=g-import-not-at-top
  _allow_grain_flags()
  ds = grain.MapDataset.source(records)[:count].batch(256)
  ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=8,
                                            prefetch_buffer_size=512))
  if num_workers:
    ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers))
  return list(ds)


def load_eval_arrays(name: str, split: str, *, image_size: int = 32,
                     data_dir: str | None = None,
                     max_examples: int | None = None,
                     num_workers: int = 0):
  """A whole (or the first `max_examples` of an) evaluation split in memory.

  Deterministic order, no shuffling, not sharded by process (every process
  evaluates on the same images), centre-cropped to `image_size`.

  Args:
    name: dataset name ("digits" or a tfds name).
    split: split name; "probe_train" and "test" map to the dataset's own
      names (e.g. "validation" for imagenet2012).
    image_size: square side.
    data_dir: tfds data directory.
    max_examples: cap on the number of images (None: all).
    num_workers: grain worker processes decoding tfds images.

  Returns:
    `(images, labels)`: uint8 (N, S, S, 3) and int32 (N,).

  Raises:
    DatasetError: unknown, missing or unreadable dataset.

  Example:
    >>> images, labels = load_eval_arrays("digits", "test")
    >>> len(images)
    297
  """
  spec = datasets.spec(name)
  split = {"probe_train": spec.probe_train, "test": spec.test}.get(split, split)
  if name == "digits":
    images, labels = digits_lib.load_digits(split, size=image_size)
  else:
    records = tfds_records.TfdsRecords(name, split, image_size=image_size,
                                       data_dir=data_dir)
    count = len(records) if max_examples is None else min(len(records),
                                                          max_examples)
    parts = _read_in_order(records, count, num_workers)
    images = np.concatenate([np.asarray(p["image"]) for p in parts])
    labels = np.concatenate([np.asarray(p["label"]) for p in parts])
  if max_examples is not None:
    images, labels = images[:max_examples], labels[:max_examples]
  return np.asarray(images, np.uint8), np.asarray(labels, np.int32)
