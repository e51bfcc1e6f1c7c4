"""Resume time of the input pipeline at an early and a late step.

  python -m research.benchmarks.data_resume [--steps 10,100000]
      [--batch-size 256] [--num-examples 50000] [--num-workers 0]

On `tfds.testing.mock_data` (cifar10, no files needed): for each step, open
the training source as a restarted run does and time it until the first
batch of that step is in hand. The pipeline computes which records make up
batch `s` and reads only those, so both times should be close; the median
of `--repeats` fresh starts is printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from typing import Sequence


def measure(steps: Sequence[int] = (10, 100_000), *, batch_size: int = 256,
            num_examples: int = 50_000, image_size: int = 32,
            num_workers: int = 0, repeats: int = 3) -> dict:
  """Seconds from opening the source to holding batch `step`, per step.

  Returns:
    `{"resume_s": {step: median seconds}, "runs": {step: [seconds, ...]},
    ...}` with the settings.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from research import data  # pylint: disable=g-import-not-at-top
  runs: dict[int, list[float]] = {int(s): [] for s in steps}
  with tempfile.TemporaryDirectory() as data_dir, tfds.testing.mock_data(
      num_examples=num_examples):
    for _ in range(repeats):
      for step in runs:
        t0 = time.perf_counter()
        source = data.make_source(
            "cifar10", batch_size=batch_size, seed=0, image_size=image_size,
            data_dir=data_dir, num_workers=num_workers, process_index=0,
            process_count=1)
        batch = next(source.iterate(step))
        runs[step].append(time.perf_counter() - t0)
        assert batch["image"].shape[0] == batch_size
  return {"resume_s": {s: statistics.median(v) for s, v in runs.items()},
          "runs": runs, "batch_size": batch_size,
          "num_examples": num_examples, "image_size": image_size,
          "num_workers": num_workers, "repeats": repeats,
          "data": "tfds.testing.mock_data cifar10"}


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m "
                                   "research.benchmarks.data_resume")
  parser.add_argument("--steps", default="10,100000")
  parser.add_argument("--batch-size", type=int, default=256)
  parser.add_argument("--num-examples", type=int, default=50_000)
  parser.add_argument("--num-workers", type=int, default=0)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args(argv)
  result = measure([int(s) for s in args.steps.split(",")],
                   batch_size=args.batch_size,
                   num_examples=args.num_examples,
                   num_workers=args.num_workers, repeats=args.repeats)
  print(json.dumps(result, indent=2))
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
