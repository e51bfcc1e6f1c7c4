"""Tests of research.data: digits, the grain pipeline, resume, tfds errors."""

import io
import os

import jax
import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from research import data
from research.benchmarks import data_resume
from research.data import tfds_records


def test_digits_arrays_and_split():
  train_x, train_y = data.load_digits("train")
  test_x, test_y = data.load_digits("test")
  assert train_x.shape == (data.DIGITS_NUM_TRAIN, 32, 32, 3)
  assert test_x.shape == (data.DIGITS_NUM_TEST, 32, 32, 3)
  assert train_x.dtype == np.uint8 and train_y.dtype == np.int32
  assert train_x.max() == 255 and train_x.min() == 0
  # Grey images repeated over RGB.
  np.testing.assert_array_equal(train_x[..., 0], train_x[..., 2])
  # Stratified: every class in the test set in proportion (~29.7 each).
  counts = np.bincount(test_y, minlength=10)
  assert counts.min() >= 28 and counts.max() <= 31
  assert set(np.unique(train_y)) == set(range(10))
  # Fixed split: a second load (new process state aside) is identical.
  again_x, _ = data.load_digits("test")
  np.testing.assert_array_equal(test_x, again_x)
  with pytest.raises(ValueError, match="split"):
    data.load_digits("validation")


def test_resize_bilinear_matches_jax_image_resize():
  x = np.random.default_rng(0).uniform(0, 16, (3, 8, 8))
  ours = data.resize_bilinear(x, 32)
  ref = jax.image.resize(x[..., None], (3, 32, 32, 1), method="linear")[..., 0]
  np.testing.assert_allclose(ours, np.asarray(ref), atol=1e-5)


def test_array_source_is_pure_function_of_seed_and_step():
  src = data.make_source("digits", batch_size=100, seed=3, process_index=0,
                         process_count=1)
  it = src.iterate(0)
  first = [next(it) for _ in range(20)]
  resumed = next(src.iterate(17))
  np.testing.assert_array_equal(first[17]["image"], resumed["image"])
  np.testing.assert_array_equal(first[17]["label"], resumed["label"])
  # One epoch (15 batches of 100 out of 1,500) visits every image once.
  idx = np.concatenate([src.indices(s) for s in range(src.steps_per_epoch)])
  np.testing.assert_array_equal(np.sort(idx), np.arange(1500))
  # The next epoch is a different order; another seed is a different order.
  assert not np.array_equal(src.indices(0), src.indices(15))
  other = data.make_source("digits", batch_size=100, seed=4, process_index=0,
                           process_count=1)
  assert not np.array_equal(src.indices(0), other.indices(0))
  # The documented order (the demo's results depend on it): batch s is the
  # slice of the permutation of its epoch drawn from default_rng((seed, e)).
  for step in (0, 14, 17):
    epoch, within = divmod(step, 15)
    perm = np.random.default_rng((3, epoch)).permutation(1500)
    idx = perm[within * 100:(within + 1) * 100]
    np.testing.assert_array_equal(first[step]["image"], src.images[idx])
    np.testing.assert_array_equal(src.batch(step)["label"], src.labels[idx])


class CountingRecords:
  """Records that count how often they are read."""

  def __init__(self, n):
    self.n, self.reads = n, 0

  def __len__(self):
    return self.n

  def __getitem__(self, index):
    self.reads += 1
    return {"image": np.full((2, 2, 3), index % 256, np.uint8),
            "label": np.int32(index % 10)}


def test_resume_reads_one_batch_whatever_the_step():
  # A skip-based resume reads step x B records first; this one reads the
  # batch it needs (plus the read-ahead), at step 10 as at step 100,000.
  reads = {}
  for step in (10, 100_000):
    records = CountingRecords(50_000)
    source = data.BatchSource(records, batch_size=64, seed=0, num_threads=0,
                              process_index=0, process_count=1)
    batch = next(source.iterate(step))
    np.testing.assert_array_equal(batch["label"],
                                  source.batch(step)["label"])
    reads[step] = records.reads
  assert reads[10] == reads[100_000] <= 3 * 64, reads


def test_array_source_host_shards_make_the_global_batch():
  full = data.make_source("digits", batch_size=64, seed=0, process_index=0,
                          process_count=1)
  hosts = [data.make_source("digits", batch_size=64, seed=0, process_index=i,
                            process_count=4) for i in range(4)]
  assert hosts[0].local_batch_size == 16
  joined = np.concatenate([h.batch(7)["label"] for h in hosts])
  np.testing.assert_array_equal(joined, full.batch(7)["label"])
  with pytest.raises(ValueError, match="multiple"):
    data.make_source("digits", batch_size=30, seed=0, process_index=0,
                     process_count=4)


def test_tfds_sources_of_two_processes_make_the_global_batch(tmp_path):
  with tfds.testing.mock_data(num_examples=40):
    kwargs = dict(batch_size=8, seed=1, image_size=8, data_dir=str(tmp_path))
    full = data.make_source("cifar10", process_index=0, process_count=1,
                            **kwargs)
    halves = [data.make_source("cifar10", process_index=i, process_count=2,
                               **kwargs) for i in range(2)]
    for step in (0, 7):  # Step 7 is in the second epoch (5 steps each).
      joined = [next(h.iterate(step)) for h in halves]
      want = next(full.iterate(step))
      for key in ("image", "label"):
        np.testing.assert_array_equal(
            np.concatenate([j[key] for j in joined]), want[key])
    assert not np.array_equal(halves[0].indices(3), halves[1].indices(3))


def test_worker_processes_give_the_same_batches(tmp_path):
  with tfds.testing.mock_data(num_examples=40):
    kwargs = dict(batch_size=8, seed=0, image_size=8, data_dir=str(tmp_path),
                  process_index=0, process_count=1)
    here = data.make_source("cifar10", **kwargs)
    workers = data.make_source("cifar10", num_workers=1, **kwargs)
    want = [here.batch(s) for s in range(3, 7)]
    it = workers.iterate(3)
    got = [next(it) for _ in range(4)]
  for a, b in zip(got, want):
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["label"], b["label"])


def test_decode_resizes_the_shorter_side_and_crops_the_centre():
  # 40 x 20 (w x h): left half black, right half white.
  image = np.zeros((20, 40, 3), np.uint8)
  image[:, 20:] = 255
  encoded = io.BytesIO()
  Image.fromarray(image).save(encoded, format="PNG")
  for source in (encoded.getvalue(), image):
    out = tfds_records.decode_and_resize(source, 10)
    assert out.shape == (10, 10, 3) and out.dtype == np.uint8
    # Resized to 20 x 10, the centre 10 columns are 5 black, 5 white.
    assert out[:, :4].max() == 0 and out[:, 6:].min() == 255
  grey = np.full((12, 12, 1), 7, np.uint8)
  np.testing.assert_array_equal(tfds_records.decode_and_resize(grey, 6),
                                np.full((6, 6, 3), 7, np.uint8))


def test_tfds_mock_cifar10_source(tmp_path):
  with tfds.testing.mock_data(num_examples=48):
    src = data.make_source("cifar10", batch_size=8, seed=0, image_size=16,
                           data_dir=str(tmp_path), process_index=0,
                           process_count=1)
    it = src.iterate(0)
    batches = [next(it) for _ in range(8)]  # Crosses an epoch (6 per epoch).
    resumed = src.iterate(5)
    again = [next(resumed) for _ in range(3)]
    images, labels = data.load_eval_arrays("cifar10", "test", image_size=16,
                                           data_dir=str(tmp_path))
  assert batches[0]["image"].shape == (8, 16, 16, 3)
  assert batches[0]["image"].dtype == np.uint8
  assert batches[0]["label"].dtype == np.int32
  assert batches[0]["label"].max() < 10
  for a, b in zip(batches[5:], again):
    np.testing.assert_array_equal(a["image"], b["image"])
  # Reshuffled each epoch: the epochs differ in order.
  assert not np.array_equal(batches[0]["label"], batches[6]["label"])
  assert images.shape == (48, 16, 16, 3) and labels.shape == (48,)


def test_missing_dataset_says_how_to_prepare(tmp_path):
  with pytest.raises(data.DatasetError, match="tfds build cifar10") as e:
    data.make_source("cifar10", batch_size=8, seed=0,
                     data_dir=str(tmp_path), process_index=0, process_count=1)
  assert str(tmp_path) in str(e.value)
  with pytest.raises(data.DatasetError, match="unknown dataset"):
    data.make_source("mnist", batch_size=8, seed=0)


def test_corrupt_dataset_says_how_to_rebuild(tmp_path):
  folder = tmp_path / "cifar10" / "3.0.2"
  os.makedirs(folder)
  (folder / "dataset_info.json").write_text("{not json")
  with pytest.raises(data.DatasetError, match="corrupt") as e:
    data.make_source("cifar10", batch_size=8, seed=0,
                     data_dir=str(tmp_path), process_index=0, process_count=1)
  assert "tfds build cifar10" in str(e.value)


def test_resume_benchmark_runs():
  result = data_resume.measure((1, 1000), batch_size=8, num_examples=40,
                               image_size=8, repeats=1)
  assert sorted(result["resume_s"]) == [1, 1000]
  assert all(t > 0 for t in result["resume_s"].values())


def test_every_dataset_has_its_epoch_size():
  assert set(data.TRAIN_EXAMPLES) == set(data.DATASETS)
  images, _ = data.load_digits("train")
  assert data.train_examples("digits") == len(images)
  with pytest.raises(data.DatasetError, match="unknown dataset"):
    data.train_examples("mnist")
