"""The supported datasets: split names, class counts, preparation checks.

`check_prepared` runs before anything is written or imported beyond the
standard library, so that a missing dataset fails in about a second.
"""

from __future__ import annotations

import dataclasses
import os


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
  """A dataset is missing, unreadable or unknown; the message says the fix."""


class BatchSizeError(DatasetError, ValueError):
  """`data.batch_size` does not fit the dataset or the number of processes."""


def spec(name: str) -> DatasetSpec:
  """The `DatasetSpec` of a supported dataset.

  Raises:
    DatasetError: `name` is not one of `DATASETS`.
  """
  if name not in DATASETS:
    raise DatasetError(
        f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
  return DATASETS[name]


def num_classes(name: str) -> int:
  """Number of classes of a supported dataset (e.g. 10 for "digits")."""
  return spec(name).num_classes


def data_dir_or_default(data_dir: str | None) -> str:
  """`data_dir`, else $TFDS_DATA_DIR, else ~/tensorflow_datasets (expanded)."""
  return os.path.expanduser(data_dir or os.environ.get(
      "TFDS_DATA_DIR", "~/tensorflow_datasets"))


def how_to_prepare(name: str, data_dir: str | None) -> str:
  """The sentences telling how to build dataset `name` in ArrayRecord files."""
  where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
  return (f"{DATASETS[name].manual}Prepare it once, in ArrayRecord files (the "
          f"training pipeline reads records by index), with "
          f"`tfds build {name} --data_dir={where} --file_format=array_record`"
          f" (a copy in TFRecord files converts with `tfds convert_format "
          f"--dataset_dir={where}/{name} --out_file_format=array_record`), "
          f"then pass that directory as "
          f"--config.data.data_dir. To run without any download, use "
          f"--config.data.dataset=digits.")


def check_prepared(name: str, data_dir: str | None) -> None:
  """Fails fast, without importing TensorFlow, if a tfds dataset is absent.

  Only looks for the dataset's folder (`<data_dir>/<name>`); whether its
  files are complete is checked when they are opened. The embedded digits
  always pass.

  Raises:
    DatasetError: unknown dataset, or no folder for it, with the command
      that prepares it.
  """
  spec(name)
  if name == "digits":
    return
  where = data_dir_or_default(data_dir)
  folder = os.path.join(where, name)
  if not os.path.isdir(folder):
    raise DatasetError(
        f"tfds dataset {name!r} was not found: there is no folder {folder} "
        f"(data_dir={where!r}). {how_to_prepare(name, data_dir)}")
