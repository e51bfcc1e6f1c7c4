"""Offline evaluation of a run directory's latest checkpoint.

  python -m research.evaluate --workdir=/tmp/simclr_digits

reads `workdir/config.json` and the latest checkpoint in `workdir/checkpoints`,
prints `research.evaluation.evaluate`'s results as JSON (few-label probes,
linear probe, kNN, and the classifier's own test accuracy for classifier
objectives) and writes them to `workdir/linear_eval.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import jax

from research import checkpointing
from research import evaluation
from research.trainer import Trainer


def load_run(workdir: str, *, devices=None):
  """The config, trainer and restored TrainState of a finished (or partial) run.

  The workdir is only read (a run may still be training in it).

  Raises:
    FileNotFoundError: no config.json or no checkpoint in `workdir`.
    research.checkpointing.WorkdirError: config.json or every checkpoint is
      unreadable.
  """
  config = checkpointing.read_run_config(workdir)
  if config is None:
    raise FileNotFoundError(
        f"{checkpointing.config_path(workdir)} not found: is {workdir!r} a "
        f"workdir of research.train?")
  trainer = Trainer(config, devices=devices)
  if not checkpointing.has_checkpoint(workdir):
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  # Read-only: the run may still be training in `workdir` (its save in
  # progress, its pruning of old steps); nothing is removed or moved.
  manager = checkpointing.checkpoint_manager(
      workdir, config.checkpoint.keep, read_only=True)
  try:
    state = checkpointing.restore_latest(manager, trainer.init_state(),
                                         move_unreadable=False)
  finally:
    manager.close()
  if state is None:
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  return config, trainer, state


def evaluate_workdir(workdir: str) -> dict[str, Any]:
  """Offline evaluation of the latest checkpoint of a run directory."""
  config, trainer, state = load_run(workdir)
  results = evaluation.evaluate(trainer, state,
                                evaluation.load_eval_data(config))
  results["step"] = int(jax.device_get(state["step"]))
  return results


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m research.evaluate",
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True)
  args = parser.parse_args(argv)
  try:
    results = evaluate_workdir(args.workdir)
  except (FileNotFoundError, checkpointing.WorkdirError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(results, indent=2))
  with open(os.path.join(args.workdir, "linear_eval.json"), "w") as f:
    json.dump(results, f, indent=2)
  return 0


if __name__ == "__main__":
  sys.exit(main())
