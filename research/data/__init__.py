"""Input pipelines: uint8 image batches on the host, augmentation on the device.

One grain pipeline (`research.data.pipeline`) serves the embedded digits and
tfds datasets in ArrayRecord files. Every source yields dicts
`{"image": uint8 (B, H, W, 3), "label": int32 (B,)}` with a fixed image size,
holding this process's share of the global batch. The batches are a pure
function of `(seed, step, process)`, so a run restored from a checkpoint at
step `s` sees exactly the batches an uninterrupted run would see, and gets
there at the cost of reading one batch.
Augmentation is not done here: the jitted train step converts with
`jaxaug.to_float` and augments on the accelerator.

Example:
  >>> source = make_source("digits", batch_size=16, seed=0)
  >>> batch = next(source.iterate(start_step=0))
  >>> batch["image"].shape, batch["image"].dtype
  ((16, 32, 32, 3), dtype('uint8'))
"""

from research.data.digits import DIGITS_NUM_TEST
from research.data.digits import DIGITS_NUM_TRAIN
from research.data.digits import load_digits
from research.data.digits import resize_bilinear
from research.data.datasets import DATASETS
from research.data.datasets import DatasetError
from research.data.datasets import check_prepared
from research.data.datasets import num_classes
from research.data.pipeline import ArraySource
from research.data.pipeline import BatchSource
from research.data.pipeline import GlobalBatchSampler
from research.data.pipeline import TfdsSource
from research.data.pipeline import load_eval_arrays
from research.data.pipeline import make_source

# Images in each dataset's pre-training split (`DATASETS[name].train`): one
# epoch, for schedules counted in epochs. STL-10 pre-trains on train +
# unlabelled.
TRAIN_EXAMPLES = {"digits": DIGITS_NUM_TRAIN, "cifar10": 50_000,
                  "cifar100": 50_000, "stl10": 105_000,
                  "imagenet2012": 1_281_167, "i_naturalist2021": 2_686_843}


def train_examples(name: str) -> int:
  """Images in the pre-training split of a supported dataset (one epoch).

  Raises:
    DatasetError: unknown dataset.

  Example:
    >>> train_examples("digits")
    1500
  """
  if name not in TRAIN_EXAMPLES:
    raise DatasetError(f"unknown dataset {name!r}; expected one of "
                       f"{sorted(TRAIN_EXAMPLES)}")
  return TRAIN_EXAMPLES[name]


__all__ = [
    "ArraySource",
    "BatchSource",
    "DATASETS",
    "DIGITS_NUM_TEST",
    "DIGITS_NUM_TRAIN",
    "DatasetError",
    "GlobalBatchSampler",
    "TRAIN_EXAMPLES",
    "TfdsSource",
    "check_prepared",
    "load_digits",
    "load_eval_arrays",
    "make_source",
    "num_classes",
    "resize_bilinear",
    "train_examples",
]
