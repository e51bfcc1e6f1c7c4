"""Training: `train_and_evaluate(config, workdir)` and the command line.

  python -m research.train \
      --config=research/configs/experiment.py:simclr,digits,mild \
      --workdir=/tmp/simclr --config.optim.num_steps=1000

`--config_help` lists every config field. The loop (docs/architecture.md has
the whole data flow):

1. validate the config (`research.configs.check`), check that every process
   of a multi-process run has the same config and that the global batch
   splits over the processes and devices, and compare the config with the
   one the workdir's run was started with (`checkpointing.check_resume`);
2. check that the workdir can be written (creating it), open the data (an
   unknown or missing dataset fails here), build the `Trainer` (model,
   optimiser, jitted step) and check the free disk space; if any of this
   fails on any process, every process stops and a workdir created here is
   removed again;
3. restore the latest checkpoint (printing "resumed from step N");
4. run steps, logging train metrics every `log_every` steps, evaluating every
   `eval.every` steps, saving every `checkpoint.every` steps and at the end.

Nothing is left behind unless steps 1-2 succeed, so a bad config or dataset
leaves no workdir behind. Rerunning the same command after a kill resumes
from the last checkpoint and ends with the same parameters as an
uninterrupted run; `metrics.jsonl` then holds each (split, step) once.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from typing import Any

import jax
import ml_collections
import numpy as np

from research import checkpointing
from research import data as data_lib
from research import distributed
from research import evaluation
from research import utils
from research.configs import base
from research.configs import check
from research.trainer import Trainer
from research.trainer import check_topology


class TrainingDivergedError(FloatingPointError):
  """The loss became NaN or Inf; the message names the step and checkpoint."""


def _log(message: str) -> None:
  if jax.process_index() == 0:
    print(message, file=sys.stderr, flush=True)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                       devices=None,
                       allow_config_change: bool = False) -> dict[str, Any]:
  """Trains (or resumes) the run of `config` in `workdir` and evaluates it.

  Args:
    config: a nested ConfigDict (`research/configs/experiment.py`).
    workdir: output directory: `metrics.jsonl`, `config.json`,
      `checkpoints/`.
    devices: devices of the data-parallel mesh (default: all).
    allow_config_change: resume a workdir whose run used another config.

  Returns:
    Final metrics: `loss` (mean of the last `log_every` steps; when the call
    trains no step, e.g. a finished run started again, the last logged
    training loss, or None if there is none), `step`,
    `train_time_s` (time spent in training steps in this call, compilation
    excluded), `images_per_s`, and the evaluation of
    `research.evaluation.evaluate` (`knn_acc`, `few_label_probe_acc`,
    `linear_probe_acc`, `probe_test_acc`, and `classifier_test_acc` for
    classifier objectives) if the run reached `optim.num_steps`.

  Raises:
    research.configs.check.ConfigError: invalid config, or optim.num_steps
      below the step of the run's latest checkpoint (nothing written).
    research.checkpointing.ConfigMismatchError: the workdir holds a run of
      another config, checkpoints without config.json, or checkpoints that
      cannot be restored under an allowed config change (nothing written).
    research.data.DatasetError: missing or corrupt dataset, or a
      `data.batch_size` larger than the training split (nothing written).
    research.checkpointing.WorkdirError: `workdir` is not writable, lacks
      the free space for the checkpoints, holds a file where a directory is
      needed (or the reverse), or its checkpoints cannot be read
      (`CheckpointReadError`).
    research.distributed.DistributedError: in a multi-process run, the
      processes were given different configs, or another process failed
      while setting up (nothing written).
    TrainingDivergedError: the loss became NaN/Inf.

  Example:
    >>> from research.configs import experiment
    >>> c = experiment.get_config("simclr,digits")
    >>> c.optim.num_steps = 5
    >>> metrics = train_and_evaluate(c, "/tmp/simclr_digits")  # doctest: +SKIP
  """
  check.validate(config)
  # Every process must run the same config, or the first collective hangs.
  distributed.check_same("config", {
      **check.flatten(config), "--workdir": workdir,
      "--allow_config_change": allow_config_change})
  check_topology(config, devices)
  changes = checkpointing.check_resume(
      config, workdir, allow_config_change=allow_config_change)
  d = config.data
  created = not os.path.exists(workdir)
  is_main = jax.process_index() == 0
  try:
    failure = None
    try:
      checkpointing.check_workdir_writable(workdir)
      source = data_lib.make_source(
          d.dataset, batch_size=d.batch_size, seed=config.seed,
          image_size=d.image_size, data_dir=d.data_dir or None,
          num_workers=d.num_workers)
      eval_data = evaluation.load_eval_data(config)
      trainer = Trainer(config, devices=devices)
      state = trainer.init_state()
      if is_main:
        checkpointing.check_free_space(workdir, state, config.checkpoint.keep)
    except Exception as e:  # pylint: disable=broad-except
      failure = e
    # An error on one process stops all of them (none waits for it).
    distributed.raise_if_any_failed(failure, "setting up the run")
  except BaseException:
    if created:  # Leave nothing behind for a run that never started.
      shutil.rmtree(workdir, ignore_errors=True)
    raise
  manager = checkpointing.checkpoint_manager(workdir, config.checkpoint.keep)
  # Under a config change beyond the resume-safe fields (allowed with
  # --allow_config_change) a failed restore says nothing about the files (a
  # field may have changed the parameters' shapes): nothing is moved aside.
  unsafe = sorted(k for k in changes if k not in base.RESUME_SAFE)
  try:
    restored = checkpointing.restore_latest(manager, state,
                                            move_unreadable=not unsafe)
  except checkpointing.CheckpointReadError as e:
    manager.close()
    if not unsafe:
      raise
    raise checkpointing.ConfigMismatchError(
        f"the checkpoints in {workdir!r} cannot be restored under the changed "
        f"config (changed: {', '.join(unsafe)}); a change of the "
        f"model or objective cannot continue a run. Nothing was moved or "
        f"written; use another --workdir. ({e})") from e
  if restored is not None:
    state = restored
  start = int(jax.device_get(state["step"]))
  if start > config.optim.num_steps:
    manager.close()
    raise check.ConfigError(
        f"config field optim.num_steps={config.optim.num_steps} is below the "
        f"step of the run's latest checkpoint ({start}) in {workdir!r}; "
        f"nothing was changed. Pass optim.num_steps >= {start}, or use "
        f"research.evaluate to evaluate the run.")
  checkpointing.record_config(config, workdir, changes, start)
  if start:
    _log(f"resumed from step {start} ({workdir})")
    for field, (old, new) in changes.items():
      _log(f"  config change: {field}: {old!r} -> {new!r}")
  writer = None
  if is_main:
    writer = utils.MetricWriter(workdir, keep_until_step=start)

  num_steps = config.optim.num_steps
  stop = num_steps if config.stop_at_step < 0 else min(num_steps,
                                                       config.stop_at_step)
  progress = None
  if config.progress_bar and is_main:
    from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top
    progress = tqdm(total=num_steps, initial=start, desc=config.name,
                    leave=False, file=sys.stderr)

  batches = source.iterate(start)
  recent, final = [], {}
  train_time, window_time, window_images = 0.0, 0.0, 0
  last_saved = manager.latest_step()
  step = start
  try:
    while step < stop:
      batch = next(batches)
      t0 = time.perf_counter()
      state, metrics = trainer.train_step(state, trainer.global_batch(batch))
      metrics = jax.device_get(metrics)
      dt = time.perf_counter() - t0
      step += 1
      loss = float(metrics["loss"])
      if not math.isfinite(loss):
        raise TrainingDivergedError(
            f"loss is {loss} at step {step}; stopping. " + (
                f"The last good checkpoint (step {last_saved}) is kept in "
                f"{os.path.join(workdir, 'checkpoints')}. "
                if last_saved is not None else "No checkpoint was saved. ") +
            "Lower "
            f"optim.base_learning_rate or raise optim.warmup_steps and rerun.")
      if step > start + 1:  # The first step of a call includes compilation.
        train_time += dt
        window_time += dt
        window_images += d.batch_size
      recent = (recent + [loss])[-config.log_every:]
      if progress is not None:
        progress.update(1)
        progress.set_postfix(
            loss=f"{loss:.4f}",
            img_s=f"{window_images / max(window_time, 1e-9):.0f}")
      if writer is not None and (step % config.log_every == 0 or
                                 step == stop):
        # Metrics of a phase the objective is not in (NaN) are not logged.
        phase = trainer.objective.phase_metrics
        record = {k: float(v) for k, v in metrics.items()
                  if not (k in phase and math.isnan(float(v)))}
        if window_time > 0:
          record["images_per_s"] = window_images / window_time
        writer.write(step, record, split="train")
        window_time, window_images = 0.0, 0
      if config.eval.every and step % config.eval.every == 0 and step < stop:
        results = evaluation.evaluate(trainer, state, eval_data, linear=False)
        if writer is not None:
          writer.write(step, results, split="eval")
      if step % config.checkpoint.every == 0 or step == num_steps:
        checkpointing.save(manager, step, state)
        last_saved = step
    if step == num_steps:
      if manager.latest_step() != step:
        checkpointing.save(manager, step, state)
      final = evaluation.evaluate(trainer, state, eval_data, linear=True)
      if writer is not None:
        writer.write(step, final, split="eval")
  finally:
    if progress is not None:
      progress.close()
    if writer is not None:
      writer.close()
    manager.close()
  steps_timed = max(step - start - 1, 0)
  if recent:
    loss = float(np.mean(recent))
  else:  # Nothing trained in this call (a finished run again): the last
    # logged training loss, or None (valid JSON) when there is none.
    logged = utils.read_metrics(workdir, split="train") if is_main else []
    loss = logged[-1].get("loss") if logged else None
  final.update({
      "step": step,
      "loss": loss,
      "train_time_s": train_time,
      "images_per_s": (steps_timed * d.batch_size / train_time
                       if train_time > 0 else 0.0),
  })
  return final


def main(argv: list[str] | None = None) -> int:
  """The command line; prints the final metrics as JSON. Returns the exit code.

  Every expected failure (bad flag or config value, unknown dataset or
  missing files, a workdir of another run, an unwritable workdir, a
  multi-process run that cannot start or whose processes disagree) prints
  one paragraph naming the cause to stderr and returns 2, with no
  traceback. With `--coordinator_address`, `--num_processes` and
  `--process_id` (or on a cluster JAX detects) it is one process of a
  multi-process run (`research.distributed`).
  """
  from research import cli  # pylint: disable=g-import-not-at-top
  args = cli.parse(sys.argv[1:] if argv is None else argv)
  if isinstance(args, int):
    return args
  try:
    distributed.initialize(**args.launch)
    results = train_and_evaluate(args.config, args.workdir,
                                 allow_config_change=args.allow_config_change)
  except cli.expected_errors() + (TrainingDivergedError,) as e:
    return cli.fail(e)
  if jax.process_index() == 0:
    print(json.dumps(results, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
