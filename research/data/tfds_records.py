"""Random access to tfds splits (ArrayRecord) and host-side image decoding.

`open_split` returns `tfds.data_source(...)` of a split: `len()` and
`source[i]` read record `i` directly from the ArrayRecord files, so any
record costs the same to reach. Images stay encoded (`SkipDecoding`) until
`TfdsRecords.__getitem__`, which runs in the pipeline's worker processes:
decode (Pillow), resize the shorter side to the target size (bilinear with
antialiasing), centre-crop a square, uint8.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from research.data import datasets


def _import_tfds():
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return tfds


def open_split(name: str, split: str, *, data_dir: str | None):
  """`tfds.data_source` of one split, images left encoded.

  Raises:
    research.data.DatasetError: not prepared, not in ArrayRecord files, or
      unreadable, with the command that prepares it.
  """
  tfds = _import_tfds()
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir,
                            download=False,
                            decoders={"image": tfds.decode.SkipDecoding()})
  except Exception as e:  # tfds raises AssertionError, OSError, ValueError...
    datasets.check_prepared(name, data_dir)
    folder = os.path.join(datasets.data_dir_or_default(data_dir), name)
    raise datasets.DatasetError(
        f"could not open tfds dataset {name!r} split {split!r} in {folder}: "
        f"incomplete, corrupt or not in ArrayRecord files "
        f"({type(e).__name__}: {e}). Delete {folder} and rebuild it. "
        f"{datasets.how_to_prepare(name, data_dir)}") from e


def decode_and_resize(image: Any, size: int) -> np.ndarray:
  """One image to uint8 `(size, size, 3)`.

  Args:
    image: encoded bytes (JPEG, PNG, ...) or a uint8 `(H, W[, C])` array.
    size: side of the square output.

  Returns:
    The image with its shorter side resized to `size` (bilinear,
    antialiased when shrinking), centre-cropped to a square, in RGB.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  if isinstance(image, (bytes, np.bytes_)):
    pil = Image.open(io.BytesIO(image))
  else:
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
      array = array[..., 0]
    if array.shape[:2] == (size, size) and array.ndim == 3 and (
        array.shape[2] == 3) and array.dtype == np.uint8:
      return array
    pil = Image.fromarray(array)
  pil = pil.convert("RGB")
  w, h = pil.size
  if (w, h) != (size, size):
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    pil = pil.resize((new_w, new_h), Image.BILINEAR)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    pil = pil.crop((left, top, left + size, top + size))
  return np.asarray(pil, np.uint8)


class TfdsRecords:
  """A tfds split as records `{"image": uint8 (S, S, 3), "label": int32}`.

  Picklable (the grain worker processes each open their own copy).

  Args:
    name: tfds name.
    split: split expression ("train", "train+unlabelled", "train[:10%]").
    image_size: side S of the decoded square images.
    data_dir: tfds data directory (None: $TFDS_DATA_DIR or the default).

  Raises:
    research.data.DatasetError: the split cannot be opened.
  """

  def __init__(self, name: str, split: str, *, image_size: int,
               data_dir: str | None):
    self.name, self.split, self.data_dir = name, split, data_dir
    self.image_size = int(image_size)
    self.source = open_split(name, split, data_dir=data_dir)
    self.num_records = len(self.source)
    if not self.num_records:
      raise datasets.DatasetError(
          f"split {split!r} of {name!r} is empty. "
          f"{datasets.how_to_prepare(name, data_dir)}")

  def __len__(self) -> int:
    return self.num_records

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    try:
      record = self.source[int(index)]
      image = decode_and_resize(record["image"], self.image_size)
    except Exception as e:  # pylint: disable=broad-except
      raise datasets.DatasetError(
          f"reading record {int(index)} of tfds dataset {self.name!r} split "
          f"{self.split!r} (data_dir={self.data_dir!r}) failed "
          f"({type(e).__name__}: {e}); the files look corrupt or incomplete. "
          f"Delete the dataset folder and rebuild it. "
          f"{datasets.how_to_prepare(self.name, self.data_dir)}") from e
    return {"image": image, "label": np.int32(record["label"])}
