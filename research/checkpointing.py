"""Checkpoints, workdir checks and the run record of a workdir.

* Checkpoints (orbax `CheckpointManager`, `workdir/checkpoints`): the whole
  TrainState (params, BatchNorm statistics, optimizer state, step, root key);
  the data position is the step itself. A save killed half-way leaves only
  orbax's temporary directory, which is never loaded (and is removed on the
  next start); a finished checkpoint that cannot be read is moved aside and
  the previous one is used (`restore_latest`). In a multi-process run every
  process calls save and restore (orbax's multi-process support: each
  writes its shards, process 0 commits), all of them agree before moving on
  to an older checkpoint, and only process 0 deletes or moves files.
* Up-front checks: the workdir is created and a probe file written and
  deleted, and the free disk space is compared with the size of the kept
  checkpoints, before the first step is compiled.
* Run record (`check_resume`): `workdir/config.json` holds the config the run
  was started with. A rerun in the same workdir must use the same config,
  except for the fields of `research.configs.base.RESUME_SAFE`; every change
  accepted is appended to `workdir/config_changes.jsonl`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import warnings
from typing import Any

import jax
import ml_collections
import numpy as np

from research import distributed
from research.configs import base
from research.configs import check

TrainState = dict[str, Any]


# --------------------------------------------------------------------------
# Checkpoints.


class WorkdirError(OSError):
  """The workdir cannot hold the run (unwritable, or too little free space)."""


def checkpoint_manager(workdir: str, keep: int, *, read_only: bool = False):
  """The orbax CheckpointManager of `workdir/checkpoints`.

  `read_only=True` (offline evaluation) changes nothing on disk: no partial
  save is removed (it may be a save in progress of a run still training),
  no directory is created and nothing is saved.
  """
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  if read_only:
    directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    return ocp.CheckpointManager(
        directory, options=ocp.CheckpointManagerOptions(
            read_only=True, create=False))
  # Orbax writes each step to `<step>.orbax-checkpoint-tmp-*` and renames it
  # when complete (atomic on local/POSIX file systems; a commit file on
  # object stores), so a save killed half-way is never listed as a step.
  # The leftovers of such a save are removed here, before the manager starts.
  # (Orbax's own `cleanup_tmp_directories` does this in a background thread
  # that races with whatever file access follows, e.g. the first tfds read.)
  # With several processes, process 0 removes them and everyone waits for it
  # before listing the steps; saves and restores are collective (orbax
  # writes each process's shards and commits once all have written).
  directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
  remove_partial_checkpoints(directory)
  distributed.barrier("checkpoints: partial saves removed")
  options = ocp.CheckpointManagerOptions(
      max_to_keep=max(1, keep), create=True)
  return ocp.CheckpointManager(directory, options=options)


def remove_partial_checkpoints(directory: str) -> list[str]:
  """Deletes the temporary directories of saves that never completed.

  Args:
    directory: the checkpoint directory of a run (it may not exist yet).

  Returns:
    The names of the removed directories.
  """
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  if jax.process_index() != 0 or not os.path.isdir(directory):
    return []
  suffix = ocp.path.step.TMP_DIR_SUFFIX
  removed = []
  for name in sorted(os.listdir(directory)):
    if suffix in name and os.path.isdir(os.path.join(directory, name)):
      shutil.rmtree(os.path.join(directory, name))
      removed.append(name)
  return removed


def save(manager, step: int, state: TrainState) -> None:
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  manager.save(step, args=ocp.args.StandardSave(state), force=True)
  manager.wait_until_finished()


class CheckpointReadError(WorkdirError, RuntimeError):
  """Checkpoints exist but none can be read with the run's structure."""


def restore_latest(manager, template: TrainState, *,
                   move_unreadable: bool = True) -> TrainState | None:
  """The latest readable checkpoint, restored with `template`'s sharding.

  A checkpoint that fails to load (a truncated or corrupt file in a finished
  step directory) is moved to `<workdir>/checkpoints_corrupt/<step>` with a
  warning and the previous step is tried: the run resumes from the last
  complete checkpoint rather than failing or silently starting over.

  Args:
    manager: the run's orbax `CheckpointManager`.
    template: a TrainState with the structure, dtypes and shardings wanted.
    move_unreadable: False: leave unreadable steps where they are (offline
      evaluation, or a resume under a changed config, where a failure says
      nothing about the files), skip them with a warning.

  Returns:
    The restored TrainState, or None if there is no checkpoint.

  Raises:
    CheckpointReadError (a RuntimeError and a WorkdirError): checkpoints
      exist but none of them can be read.
  """
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  steps = sorted(manager.all_steps(), reverse=True)
  if not steps:
    return None
  abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
      template)
  errors = []
  for step in steps:
    problem = ""
    try:
      state = manager.restore(step, args=ocp.args.StandardRestore(abstract))
      state = jax.block_until_ready(state)
      if int(jax.device_get(state["step"])) != step:
        raise ValueError(f"holds step {int(jax.device_get(state['step']))}")
    except Exception as e:  # pylint: disable=broad-except
      problem = f"{type(e).__name__}: {e}"
    # All processes move on to the previous step if any one failed.
    problem = next((p for p in distributed.allgather_text(problem) if p), "")
    if problem:
      errors.append(f"step {step}: {problem}")
      if move_unreadable:
        quarantine(manager, step, problem)
      else:
        warnings.warn(f"checkpoint step {step} in {manager.directory} cannot "
                      f"be read ({problem}); trying the previous one",
                      RuntimeWarning)
      continue
    if errors:
      if move_unreadable:
        warnings.warn(f"resuming from checkpoint step {step}; unreadable "
                      f"newer checkpoints were moved aside: "
                      f"{'; '.join(errors)}", RuntimeWarning)
      else:
        warnings.warn(f"using checkpoint step {step}; newer checkpoints "
                      f"could not be read: {'; '.join(errors)}",
                      RuntimeWarning)
    return state
  where = (f"they were moved to {corrupt_dir(manager)}. Delete that directory "
           f"to start over." if move_unreadable else "they were left in place.")
  raise CheckpointReadError(
      f"no checkpoint in {manager.directory} can be read "
      f"({'; '.join(e[:300] for e in errors)}); {where}")


def corrupt_dir(manager) -> str:
  return os.fspath(manager.directory) + "_corrupt"


def quarantine(manager, step: int, error: str) -> None:
  """Moves an unreadable step directory out of orbax's view (collective)."""
  warnings.warn(f"checkpoint step {step} in {manager.directory} cannot be "
                f"read ({error}); moving it to "
                f"{corrupt_dir(manager)} and trying the previous one",
                RuntimeWarning)
  distributed.barrier(f"checkpoints: every process gave up on {step}")
  if jax.process_index() == 0:
    dest = os.path.join(corrupt_dir(manager), str(step))
    os.makedirs(corrupt_dir(manager), exist_ok=True)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.move(os.path.join(os.fspath(manager.directory), str(step)), dest)
  distributed.barrier(f"checkpoints: {step} moved aside")
  manager.reload()


# --------------------------------------------------------------------------
# Up-front checks of the workdir.


def check_workdir_writable(workdir: str) -> None:
  """Creates `workdir` and writes+deletes a probe file in it.

  Args:
    workdir: the run's output directory.

  Raises:
    WorkdirError: naming `workdir`, if it cannot be created or written.

  Example:
    >>> check_workdir_writable("/tmp/run")  # doctest: +SKIP
  """
  probe = os.path.join(workdir, f".write_probe_{os.getpid()}")
  for name in ("checkpoints", "metrics.jsonl", "config.json"):
    path = os.path.join(workdir, name)
    want_dir = name == "checkpoints"
    if os.path.exists(path) and os.path.isdir(path) != want_dir:
      raise WorkdirError(
          f"{path!r} is a {'file' if want_dir else 'directory'}; the run "
          f"needs it to be a {'directory' if want_dir else 'file'}. nothing "
          f"was trained. Remove it or choose another --workdir.")
  try:
    os.makedirs(workdir, exist_ok=True)
    with open(probe, "wb") as f:
      f.write(b"0" * 4096)
      f.flush()
      os.fsync(f.fileno())
    os.remove(probe)
  except OSError as e:
    raise WorkdirError(
        f"workdir {workdir!r} is not writable ({type(e).__name__}: {e}); "
        f"nothing was trained. Pass a --workdir you can write to.") from e


def checkpoint_bytes(state: TrainState) -> int:
  """Bytes of one checkpoint of `state` (the sum of its arrays' sizes)."""
  return int(sum(np.dtype(x.dtype).itemsize * math.prod(x.shape)
                 for x in jax.tree.leaves(state)))


def check_free_space(workdir: str, state: TrainState, keep: int) -> int:
  """Checks that `workdir` can hold the checkpoints the run will keep.

  The need is `keep + 1` checkpoints (one more is being written
  while the oldest kept one still exists), times 1.5 for metadata, plus
  16 MiB for logs.

  Args:
    workdir: the run's output directory (must exist).
    state: the TrainState (only shapes and dtypes are used).
    keep: checkpoints kept (`checkpoint.keep`).

  Returns:
    The estimated number of bytes needed.

  Raises:
    WorkdirError: naming `workdir`, the free and the needed space.
  """
  need = int(checkpoint_bytes(state) * (max(1, keep) + 1)
             * 1.5) + (16 << 20)
  free = shutil.disk_usage(workdir).free
  if free < need:
    raise WorkdirError(
        f"not enough free disk space in workdir {workdir!r}: {free / 2**20:.1f}"
        f" MiB free, the run needs about {need / 2**20:.1f} MiB "
        f"({max(1, keep)} kept checkpoints + 1 being "
        f"written, {checkpoint_bytes(state) / 2**20:.1f} MiB each, + logs); "
        f"nothing was trained. Free space, lower checkpoint.keep or choose "
        f"another --workdir.")
  return need


# --------------------------------------------------------------------------
# The run record: which config a workdir belongs to.


class ConfigMismatchError(ValueError):
  """A workdir holds a run of another config; the message lists the fields."""


def config_path(workdir: str) -> str:
  return os.path.join(workdir, "config.json")


def read_run_config(workdir: str) -> ml_collections.ConfigDict | None:
  """The config a workdir's run was started with, or None if there is none."""
  path = config_path(workdir)
  if not os.path.exists(path):
    return None
  try:
    with open(path, encoding="utf-8") as f:
      return ml_collections.ConfigDict(json.load(f))
  except (OSError, ValueError, TypeError) as e:
    raise WorkdirError(
        f"{path} cannot be read as a run config ({type(e).__name__}: {e}); "
        f"the workdir's run is unknown. Restore the file or choose another "
        f"--workdir.") from e


def has_checkpoint(workdir: str) -> bool:
  """Whether `workdir/checkpoints` holds a finished step directory."""
  directory = os.path.join(workdir, "checkpoints")
  return os.path.isdir(directory) and any(
      n.isdigit() for n in os.listdir(directory))


def check_resume(config: ml_collections.ConfigDict, workdir: str, *,
                 allow_config_change: bool = False
                 ) -> dict[str, tuple[Any, Any]]:
  """Compares `config` with the config a workdir's run was started with.

  Nothing is written (call `record_config` once the run starts).

  Args:
    config: the config of this call.
    workdir: the run's directory (may not exist).
    allow_config_change: accept any difference (the CLI's
      `--allow_config_change`).

  Returns:
    `{field: (old, new)}` of the differences that will be recorded (empty
    for a new run or an identical config).

  Raises:
    ConfigMismatchError: the workdir holds checkpoints of a run whose config
      differs in a field outside `research.configs.base.RESUME_SAFE`, listing
      every such field with both values.
  """
  old = read_run_config(workdir)
  if not has_checkpoint(workdir):
    return {}
  if old is None:
    raise ConfigMismatchError(
        f"workdir {workdir!r} holds checkpoints but no config.json, so the "
        f"config of their run is unknown; resuming could mix two runs. Use "
        f"another --workdir, or put the run's config.json back.")
  changes = check.diff(check.flatten(old), check.flatten(config))
  unsafe = {k: v for k, v in changes.items() if k not in base.RESUME_SAFE}
  if unsafe and not allow_config_change:
    lines = "\n".join(f"  {k}: {a!r} (run) vs {b!r} (now)"
                      for k, (a, b) in unsafe.items())
    raise ConfigMismatchError(
        f"workdir {workdir!r} holds checkpoints of a run with another "
        f"config; resuming would mix two runs. Differing fields:\n{lines}\n"
        f"Use another --workdir, rerun with the run's config, or pass "
        f"--allow_config_change to continue with the new one (the change is "
        f"recorded in config_changes.jsonl).")
  return changes


def record_config(config: ml_collections.ConfigDict, workdir: str,
                  changes: dict[str, tuple[Any, Any]], step: int) -> None:
  """Writes `config.json` and appends `changes` to `config_changes.jsonl`."""
  if jax.process_index() != 0:
    return
  if changes:
    with open(os.path.join(workdir, "config_changes.jsonl"), "a",
              encoding="utf-8") as f:
      f.write(json.dumps({"step": step, "time": time.time(), "changes": {
          k: [a, b] for k, (a, b) in changes.items()}}, default=str) + "\n")
  tmp = config_path(workdir) + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(config.to_json_best_effort(indent=2))
  os.replace(tmp, config_path(workdir))
