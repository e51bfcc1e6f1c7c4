"""Tiny run configs shared by the end-to-end and fault tests."""

import ast

from research.configs import base
from research.configs import experiment

# Cheap settings: 16x16 images, a 16-wide CNN, the flip augmentation (the
# SimCLR preset costs minutes of XLA compilation on 2 CPU cores per
# objective; it is covered by the demo test and a slow test).
TINY = {
    "data.image_size": 16, "augment.crop_size": 16, "data.batch_size": 16,
    "model.encoder": "small_cnn", "model.num_features": 16,
    "model.small_cnn_widths": (16, 16, 16), "model.head_hidden": 32,
    "model.head_out": 16, "optim.num_steps": 6, "optim.warmup_steps": 1,
    "log_every": 1, "eval.every": 3, "checkpoint.every": 3,
    "progress_bar": False, "eval.batch_size": 512, "eval.max_examples": 0,
    "objective.mochi.num_hardest": 8, "objective.mochi.num_mix": 4,
    "objective.mochi.num_mix_query": 2, "objective.multihead.num_heads": 2,
    # Batch 16 of 1,500 digits: steps 0-2 are MoCHi's warm-up, 3-5 mix.
    "objective.mochi.warmup_epochs": 0.03,
    "augment.preset": "flip", "eval.few_label_draws": 2,
    "data.num_workers": 0,
}


def tiny_config(objective="simclr", dataset="digits", **overrides):
  """A 6-step config; `overrides` use `__` for dots (optim__num_steps=4)."""
  c = base.get_config(objective=objective, dataset=dataset)
  for path, value in TINY.items():
    base.set_path(c, path, value)
  # Large steps so that six steps measurably lower the loss.
  if c.optim.optimizer == "lars":
    c.optim.base_learning_rate = 8.0
  elif c.optim.optimizer == "sgd":
    c.optim.base_learning_rate = 1.0
  for name, value in overrides.items():
    base.set_path(c, name.replace("__", "."), value)
  return c


def overrides(config) -> list[str]:
  """The config as `--config.PATH=VALUE` flags (differences from defaults)."""
  from research.configs import check  # pylint: disable=g-import-not-at-top
  ref = check.flatten(base.get_config(config.objective.name,
                                      config.data.dataset))
  out = []
  for path, value in check.flatten(config).items():
    if ref.get(path) != value:
      if isinstance(value, tuple):
        value = "(" + ",".join(str(v) for v in value) + ",)"
      out.append(f"--config.{path}={value}")
  return out


# The kill/resume tests (test_faults.py, test_multiprocess.py) run the CLI in
# a child process with these overrides: a checkpoint every step, all kept.
CLI_NUM_STEPS = 6
CLI_OVERRIDES = [
    "data.image_size=16", "augment.crop_size=16", "data.batch_size=16",
    "model.num_features=16", "model.small_cnn_widths=(16,16,16)",
    "model.head_hidden=32", "model.head_out=16",
    f"optim.num_steps={CLI_NUM_STEPS}", "optim.warmup_steps=1",
    "log_every=1", "eval.every=0", "checkpoint.every=1", "checkpoint.keep=10",
    "progress_bar=False", "augment.preset=flip", "eval.few_label_draws=2",
]

# The CLI, with orbax's atomic-rename commit instrumented: it announces each
# commit on stdout and, for the step named in $HANG_IN_SAVE_STEP, hangs after
# the checkpoint's files are written (by every process) and before the rename
# that publishes it, so that a SIGKILL lands in the middle of a save.
CLI_WRAPPER = """
import os, sys, time
from orbax.checkpoint._src.path import atomicity
_finalize = atomicity.AtomicRenameTemporaryPath.finalize
async def finalize(self):
  name = self.get_final().name
  print("COMMIT", name, flush=True)
  if name == os.environ.get("HANG_IN_SAVE_STEP"):
    time.sleep(600)
  await _finalize(self)
atomicity.AtomicRenameTemporaryPath.finalize = finalize
from research import train
sys.exit(train.main(sys.argv[1:]))
"""


def cli_config():
  """The config the CLI builds from `CLI_OVERRIDES` (for in-process runs)."""
  config = experiment.get_config("simclr,digits")
  for item in CLI_OVERRIDES:
    path, value = item.split("=", 1)
    try:
      parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
      parsed = value  # A string field (augment.preset=flip).
    base.set_path(config, path, parsed)
  return config
