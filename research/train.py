"""Data-parallel pre-training with on-device augmentation, evaluation, checkpoints.

`train_and_evaluate(config, workdir)` runs one experiment; the CLI is

  python -m research.train --config research/configs/simclr_digits.py \
      --workdir /tmp/simclr --config.batch_size=128 --config.random_field=mild

Design (the choices this file makes):

* Parallelism: one `jax.jit`-compiled step over a 1-D `jax.sharding.Mesh` of
  all devices (axis "data"). The uint8 batch is sharded along its first axis
  (`NamedSharding(mesh, P("data"))`), the train state is replicated
  (`P()`); XLA inserts the collectives, so the contrastive loss sees the global
  batch and BatchNorm uses global statistics, with results that do not depend
  on the number of devices. Each host feeds its slice of the global batch
  (`jax.make_array_from_process_local_data`), so the same code runs
  multi-host after `jax.distributed.initialize()`.
* NNX: the model is split once into a static graph definition and pure-dict
  state (`params`, `batch_stats`); the jitted step is a pure function of a
  pytree `TrainState` dict and merges the model inside (`nnx.merge`). Two graph
  definitions are kept, one in `train()` mode (batch statistics) and one in
  `eval()` mode (running averages). The state buffers are donated.
* Randomness: one root key from `config.seed`; the key of step `s` is
  `fold_in(key, s)`, split into augmentation and objective keys, and the data
  order is a pure function of `(seed, step)`. A restored checkpoint therefore
  continues exactly as the uninterrupted run would (same parameters bit for
  bit on the same hardware).
* Online evaluation: a linear probe on `stop_gradient` encoder features is
  trained in the same step with its own Adam (via `optax.multi_transform`);
  every `eval_every` steps the probe's test accuracy and a weighted kNN
  accuracy (cosine, k = `knn_k`) on un-augmented images are logged.
* Checkpoints (orbax `CheckpointManager`, `workdir/checkpoints`): the whole
  TrainState (params, BatchNorm statistics, optimizer state, step, root key);
  the data position is the step itself. Saved every `checkpoint_every` steps
  and at the end; a non-finite loss stops the run before anything is saved,
  so the last checkpoint is always a good one. A save killed half-way leaves
  only orbax's temporary directory, which is never loaded (and is removed on
  the next start); a finished checkpoint that cannot be read is moved aside
  and the previous one is used (`restore_latest`).
* Up-front checks: the workdir is created and a probe file written and
  deleted, and the free disk space is compared with the size of the kept
  checkpoints, before the first step is compiled.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shutil
import sys
import time
import warnings
from typing import Any, Callable

from flax import nnx
import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import ml_collections
import numpy as np
import optax

import jaxaug
from research import data as data_lib
from research import models
from research import objectives
from research import utils

TrainState = dict[str, Any]
TWO_VIEW_OBJECTIVES = ("simclr", "mochi", "multihead", "supcon")


class TrainingDivergedError(FloatingPointError):
  """The loss became NaN or Inf; the message names the step and checkpoint."""


# --------------------------------------------------------------------------
# Model.


class Model(nnx.Module):
  """Encoder + objective head + online linear probe.

  * simclr / mochi / supcon: `head` is a `ProjectionHead`.
  * multihead: `head` is a `MultiHeadProjection`, `temperature_net` a
    `TemperatureNet`.
  * cross_entropy: `head` is the linear classifier.
  * always: `probe`, a linear classifier on detached encoder features.
  """

  def __init__(self, config: ml_collections.ConfigDict, num_classes: int, *,
               rngs: nnx.Rngs):
    kwargs = {"num_features": config.num_features}
    if config.encoder == "small_cnn":
      kwargs["widths"] = tuple(config.get("small_cnn_widths", (32, 64, 128)))
    if config.encoder.startswith("resnet"):
      kwargs = {"stem": config.stem}
    self.encoder = models.create_encoder(config.encoder, rngs=rngs, **kwargs)
    d = self.encoder.num_features
    if config.objective == "cross_entropy":
      self.head = nnx.Linear(d, num_classes, rngs=rngs)
    elif config.objective == "multihead":
      self.head = models.MultiHeadProjection(
          d, num_heads=config.multihead_num_heads, hidden=config.head_hidden,
          out=config.head_out, rngs=rngs)
      self.temperature_net = models.TemperatureNet(
          dim=config.head_out, hidden=config.head_out, rngs=rngs)
    else:
      self.head = models.ProjectionHead(
          d, hidden=config.head_hidden, out=config.head_out,
          num_layers=config.head_layers, rngs=rngs)
    self.probe = nnx.Linear(d, num_classes, rngs=rngs)


# --------------------------------------------------------------------------
# Augmentation, objective, optimizer.


def make_augment(config: ml_collections.ConfigDict) -> Callable:
  """The single-image augmentation `aug(key, image) -> image` of a config."""
  kwargs = {"strength": config.aug_strength}
  if config.random_field:
    kwargs["random_field"] = config.random_field
  if config.augment == "simclr_cifar":
    return jaxaug.presets.simclr_cifar(config.crop_size, **kwargs)
  if config.augment == "simclr":
    return jaxaug.presets.simclr(config.crop_size, **kwargs)
  if config.augment == "flip":
    # Cheap to compile: for smoke tests of the training machinery only.
    return jaxaug.random_flip_left_right
  raise ValueError(f"config.augment must be 'simclr_cifar', 'simclr' or "
                   f"'flip', got {config.augment!r}")


def _decay_mask(params):
  # LARS/weight decay skip biases and BatchNorm parameters (SimCLR's choice).
  return jax.tree.map(lambda p: p.ndim > 1, params)


def learning_rate_schedule(config: ml_collections.ConfigDict) -> optax.Schedule:
  """Linear warm-up to `base_learning_rate * batch_size / 256`, then cosine."""
  peak = config.base_learning_rate * config.batch_size / 256
  warmup = min(config.warmup_steps, max(config.num_steps - 1, 0))
  return optax.warmup_cosine_decay_schedule(
      0.0, peak, warmup_steps=warmup,
      decay_steps=max(config.num_steps, warmup + 1))


def make_optimizer(config: ml_collections.ConfigDict
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimizer of the model (LARS/SGD/AdamW) and Adam for the probe."""
  schedule = learning_rate_schedule(config)
  if config.optimizer == "lars":
    main = optax.lars(schedule, weight_decay=config.weight_decay,
                      weight_decay_mask=_decay_mask,
                      trust_coefficient=config.lars_trust_coefficient,
                      trust_ratio_mask=_decay_mask, momentum=config.momentum)
  elif config.optimizer == "sgd":
    main = optax.chain(
        optax.add_decayed_weights(config.weight_decay, mask=_decay_mask),
        optax.sgd(schedule, momentum=config.momentum, nesterov=True))
  elif config.optimizer == "adamw":
    main = optax.adamw(schedule, weight_decay=config.weight_decay,
                       mask=_decay_mask)
  else:
    raise ValueError(f"config.optimizer must be 'lars', 'sgd' or 'adamw', "
                     f"got {config.optimizer!r}")

  def labels(params):
    return {k: jax.tree.map(lambda _, k=k: "probe" if k == "probe" else "main",
                            v) for k, v in params.items()}

  tx = optax.multi_transform(
      {"main": main, "probe": optax.adam(config.probe_learning_rate)}, labels)
  return tx, schedule


def _objective_loss(config, model, feats, labels, key, step):
  """Loss and metrics of the configured objective on encoder features."""
  if config.objective == "cross_entropy":
    return objectives.cross_entropy(model.head(feats), labels,
                                    label_smoothing=config.label_smoothing)
  batch = labels.shape[0]
  if config.objective == "multihead":
    z = model.head(feats)  # (C, 2B, out)
    return objectives.multihead(z[:, :batch], z[:, batch:],
                                model.temperature_net,
                                beta=config.multihead_beta)
  z = model.head(feats)
  z1, z2 = z[:batch], z[batch:]
  if config.objective == "simclr":
    return objectives.ntxent(z1, z2, temperature=config.temperature)
  if config.objective == "supcon":
    return objectives.supcon(jnp.stack([z1, z2], axis=1), labels,
                             temperature=config.temperature)
  if config.objective == "mochi":
    num_hardest = min(config.mochi_num_hardest, 2 * batch - 2)
    loss, metrics = objectives.mochi(
        z1, z2, key, temperature=config.temperature, num_hardest=num_hardest,
        num_mix=config.mochi_num_mix, num_mix_query=config.mochi_num_mix_query)
    if config.mochi_warmup_steps > 0:  # MoCHi's warm-up: no mixing at first.
      plain, _ = objectives.ntxent(z1, z2, temperature=config.temperature)
      loss = jnp.where(step < config.mochi_warmup_steps, plain, loss)
    return loss, metrics
  raise ValueError(f"unknown objective {config.objective!r}; expected one of "
                   f"simclr, mochi, multihead, supcon, cross_entropy")


# --------------------------------------------------------------------------
# The trainer: model definition, shardings, jitted steps.


# Jitted steps are shared between Trainers whose configs differ only in fields
# that never enter the compiled step (the seed lives in the TrainState): the
# seeds of a sweep compile once. Results do not depend on this cache.
_NOT_IN_STEP = ("seed", "experiment", "data_dir", "shuffle_buffer",
                "eval_max_examples", "eval_every", "knn_k", "knn_temperature",
                "log_every", "checkpoint_every", "keep_checkpoints",
                "progress_bar", "stop_at_step")
_STEP_CACHE: dict[Any, tuple[Callable, Callable]] = {}
_STEP_CACHE_SIZE = 8


def _step_config_key(config: ml_collections.ConfigDict) -> str:
  fields = {k: v for k, v in config.to_dict().items() if k not in _NOT_IN_STEP}
  return json.dumps(fields, sort_keys=True, default=str)


class Trainer:
  """Holds the static parts of a run (graph defs, mesh, jitted functions)."""

  def __init__(self, config: ml_collections.ConfigDict, *,
               devices=None):
    self.config = config
    self.num_classes = data_lib.num_classes(config.dataset)
    devices = np.asarray(jax.devices() if devices is None else devices)
    self.mesh = Mesh(devices.reshape(-1), ("data",))
    self.replicated = NamedSharding(self.mesh, P())
    self.batch_sharding = NamedSharding(self.mesh, P("data"))
    if config.batch_size % devices.size:
      raise ValueError(f"batch_size={config.batch_size} must be a multiple of "
                       f"the number of devices ({devices.size})")
    model = Model(config, self.num_classes, rngs=nnx.Rngs(config.seed))
    model.train()
    self.train_def, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
    model.eval()
    self.eval_def = nnx.split(model, nnx.Param, nnx.BatchStat)[0]
    self._init_params = params.to_pure_dict()
    self._init_stats = stats.to_pure_dict()
    self.tx, self.schedule = make_optimizer(config)
    self._augment_fn = None  # Built at first trace (evaluation needs none).
    self.two_views = config.objective in TWO_VIEW_OBJECTIVES
    cache_key = (_step_config_key(config),
                 tuple(d.id for d in devices.reshape(-1)))
    if cache_key not in _STEP_CACHE:
      _STEP_CACHE[cache_key] = (
          jax.jit(self._train_step,
                  in_shardings=(self.replicated, self.batch_sharding),
                  out_shardings=(self.replicated, self.replicated),
                  donate_argnums=0),
          jax.jit(self._eval_step,
                  in_shardings=(self.replicated, self.batch_sharding),
                  out_shardings=(self.replicated, self.replicated)))
      while len(_STEP_CACHE) > _STEP_CACHE_SIZE:
        _STEP_CACHE.pop(next(iter(_STEP_CACHE)))
    self.train_step, self.eval_step = _STEP_CACHE[cache_key]

  def init_state(self) -> TrainState:
    """The step-0 TrainState, replicated over the mesh."""
    key = jax.random.key(self.config.seed)
    # The model init used seed; decorrelate the training stream from it.
    key = jax.random.fold_in(key, 1)
    params = self._init_params
    state = {
        "params": params,
        "batch_stats": self._init_stats,
        "opt_state": self.tx.init(params),
        "step": jnp.zeros((), jnp.int32),
        "key": jax.random.key_data(key),
    }
    return jax.device_put(state, self.replicated)

  @property
  def augment(self) -> Callable:
    """The single-image augmentation of the config."""
    if self._augment_fn is None:
      self._augment_fn = make_augment(self.config)
    return self._augment_fn

  def _augment(self, key, images):
    images = jaxaug.to_float(images)
    if self.two_views:
      v1, v2 = jaxaug.presets.two_views(key, images, self.augment)
      return jnp.concatenate([v1, v2], axis=0)
    return jaxaug.batch(self.augment)(key, images)

  def _train_step(self, state: TrainState, batch):
    step = state["step"]
    key = jax.random.fold_in(jax.random.wrap_key_data(state["key"]), step)
    aug_key, obj_key = jax.random.split(key)
    labels = batch["label"]
    views = self._augment(aug_key, batch["image"])
    num_views = views.shape[0] // labels.shape[0]
    probe_labels = jnp.tile(labels, num_views)

    def loss_fn(params):
      model = nnx.merge(self.train_def, params, state["batch_stats"])
      feats = model.encoder(views)
      loss, metrics = _objective_loss(self.config, model, feats, labels,
                                      obj_key, step)
      probe_logits = model.probe(jax.lax.stop_gradient(feats))
      probe_loss, probe_metrics = objectives.cross_entropy(probe_logits,
                                                           probe_labels)
      new_stats = nnx.state(model, nnx.BatchStat).to_pure_dict()
      metrics = dict(metrics)
      metrics["probe_loss"] = probe_loss
      metrics["probe_train_acc"] = probe_metrics["accuracy"]
      # The probe's gradient only reaches the probe (stop_gradient above).
      return loss + probe_loss, (loss, metrics, new_stats)

    grads, (loss, metrics, new_stats) = jax.grad(loss_fn, has_aux=True)(
        state["params"])
    updates, opt_state = self.tx.update(grads, state["opt_state"],
                                        state["params"])
    params = optax.apply_updates(state["params"], updates)
    metrics = {k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()}
    metrics["loss"] = loss
    metrics["learning_rate"] = jnp.asarray(self.schedule(step), jnp.float32)
    metrics["grad_norm"] = optax.tree.norm(grads["encoder"])
    new_state = {"params": params, "batch_stats": new_stats,
                 "opt_state": opt_state, "step": step + 1, "key": state["key"]}
    return new_state, metrics

  def _eval_step(self, state: TrainState, images):
    model = nnx.merge(self.eval_def, state["params"], state["batch_stats"])
    images = jaxaug.to_float(images)
    crop = self.config.crop_size
    if images.shape[1] != crop:  # Centre crop, as in SimCLR's evaluation.
      top, left = (images.shape[1] - crop) // 2, (images.shape[2] - crop) // 2
      images = images[:, top:top + crop, left:left + crop]
    feats = model.encoder(images)
    return feats, model.probe(feats)

  def features(self, state: TrainState, images: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Encoder features and probe logits of uint8 images (no augmentation).

    Args:
      state: TrainState.
      images: uint8 (N, S, S, 3), the same on every host.

    Returns:
      float32 numpy `(N, num_features)` features and `(N, num_classes)` logits.
    """
    bs = self.config.eval_batch_size
    ndev = self.mesh.devices.size
    bs = max(ndev, bs - bs % ndev)
    feats, logits = [], []
    for start in range(0, len(images), bs):
      chunk = images[start:start + bs]
      n = len(chunk)
      if n < bs:  # Pad so every call has the same shape (one compilation).
        chunk = np.concatenate([chunk, np.zeros((bs - n,) + chunk.shape[1:],
                                                chunk.dtype)])
      x = jax.device_put(chunk, self.batch_sharding)
      f, l = self.eval_step(state, x)
      feats.append(np.asarray(jax.device_get(f))[:n])
      logits.append(np.asarray(jax.device_get(l))[:n])
    return np.concatenate(feats), np.concatenate(logits)


def knn_accuracy(train_feats: np.ndarray, train_labels: np.ndarray,
                 test_feats: np.ndarray, test_labels: np.ndarray, *,
                 k: int = 20, temperature: float = 0.07,
                 num_classes: int | None = None) -> float:
  """Weighted kNN accuracy with cosine similarity (Wu et al. 2018).

  Each test point votes over its k most similar training points with weights
  `exp(sim / temperature)`.

  Args:
    train_feats: (N, D) float features.
    train_labels: (N,) ints.
    test_feats: (M, D) float features.
    test_labels: (M,) ints.
    k: neighbours (capped at N).
    temperature: vote temperature.
    num_classes: number of classes (default: from the labels).

  Returns:
    Accuracy in [0, 1].

  Example:
    >>> f = np.eye(3)
    >>> knn_accuracy(f, np.arange(3), f, np.arange(3), k=1)
    1.0
  """
  def normalize(x):
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

  train, test = normalize(train_feats), normalize(test_feats)
  train_labels = np.asarray(train_labels)
  num_classes = num_classes or int(max(train_labels.max(),
                                       np.max(test_labels)) + 1)
  k = min(k, len(train))
  correct = 0
  for start in range(0, len(test), 1024):
    sim = test[start:start + 1024] @ train.T
    idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sim, idx, axis=1)
    weights = np.exp((top - 1.0) / temperature)  # Shifted: no overflow.
    votes = np.zeros((len(sim), num_classes))
    np.add.at(votes, (np.arange(len(sim))[:, None], train_labels[idx]),
              weights)
    correct += int(np.sum(votes.argmax(1) ==
                          np.asarray(test_labels)[start:start + 1024]))
  return correct / len(test)


# --------------------------------------------------------------------------
# Checkpoints.


def _checkpoint_manager(workdir: str, config):
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  # Orbax writes each step to `<step>.orbax-checkpoint-tmp-*` and renames it
  # when complete (atomic on local/POSIX file systems; a commit file on
  # object stores), so a save killed half-way is never listed as a step.
  # The leftovers of such a save are removed here, before the manager starts.
  # (Orbax's own `cleanup_tmp_directories` does this in a background thread
  # that races with whatever file access follows, e.g. the first tfds read.)
  directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
  remove_partial_checkpoints(directory)
  options = ocp.CheckpointManagerOptions(
      max_to_keep=max(1, config.keep_checkpoints), create=True)
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


def _save(manager, step: int, state: TrainState) -> None:
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  manager.save(step, args=ocp.args.StandardSave(state), force=True)
  manager.wait_until_finished()


def restore_latest(manager, template: TrainState) -> TrainState | None:
  """The latest readable checkpoint, restored with `template`'s sharding.

  A checkpoint that fails to load (a truncated or corrupt file in a finished
  step directory) is moved to `<workdir>/checkpoints_corrupt/<step>` with a
  warning and the previous step is tried: the run resumes from the last
  complete checkpoint rather than failing or silently starting over.

  Args:
    manager: the run's orbax `CheckpointManager`.
    template: a TrainState with the structure, dtypes and shardings wanted.

  Returns:
    The restored TrainState, or None if there is no checkpoint.

  Raises:
    RuntimeError: checkpoints exist but none of them can be read.
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
    try:
      state = manager.restore(step, args=ocp.args.StandardRestore(abstract))
      state = jax.block_until_ready(state)
      if int(jax.device_get(state["step"])) != step:
        raise ValueError(f"holds step {int(jax.device_get(state['step']))}")
    except Exception as e:  # pylint: disable=broad-except
      errors.append(f"step {step}: {type(e).__name__}: {e}")
      _quarantine(manager, step, e)
      continue
    if errors:
      warnings.warn(f"resuming from checkpoint step {step}; unreadable newer "
                    f"checkpoints were moved aside: {'; '.join(errors)}",
                    RuntimeWarning)
    return state
  raise RuntimeError(
      f"no checkpoint in {manager.directory} can be read "
      f"({'; '.join(errors)}); they were moved to "
      f"{_corrupt_dir(manager)}. Delete that directory to start over.")


def _corrupt_dir(manager) -> str:
  return os.fspath(manager.directory) + "_corrupt"


def _quarantine(manager, step: int, error: Exception) -> None:
  """Moves an unreadable step directory out of orbax's view."""
  warnings.warn(f"checkpoint step {step} in {manager.directory} cannot be "
                f"read ({type(error).__name__}: {error}); moving it to "
                f"{_corrupt_dir(manager)} and trying the previous one",
                RuntimeWarning)
  if jax.process_index() == 0:
    dest = os.path.join(_corrupt_dir(manager), str(step))
    os.makedirs(_corrupt_dir(manager), exist_ok=True)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.move(os.path.join(os.fspath(manager.directory), str(step)), dest)
  manager.reload()


# --------------------------------------------------------------------------
# Up-front checks of the workdir.


class WorkdirError(OSError):
  """The workdir cannot hold the run (unwritable, or too little free space)."""


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


def check_free_space(workdir: str, state: TrainState,
                     config: ml_collections.ConfigDict) -> int:
  """Checks that `workdir` can hold the checkpoints the run will keep.

  The need is `keep_checkpoints + 1` checkpoints (one more is being written
  while the oldest kept one still exists), times 1.5 for metadata, plus
  16 MiB for logs.

  Args:
    workdir: the run's output directory (must exist).
    state: the TrainState (only shapes and dtypes are used).
    config: the run's config (`keep_checkpoints`).

  Returns:
    The estimated number of bytes needed.

  Raises:
    WorkdirError: naming `workdir`, the free and the needed space.
  """
  need = int(checkpoint_bytes(state) * (max(1, config.keep_checkpoints) + 1)
             * 1.5) + (16 << 20)
  free = shutil.disk_usage(workdir).free
  if free < need:
    raise WorkdirError(
        f"not enough free disk space in workdir {workdir!r}: {free / 2**20:.1f}"
        f" MiB free, the run needs about {need / 2**20:.1f} MiB "
        f"({max(1, config.keep_checkpoints)} kept checkpoints + 1 being "
        f"written, {checkpoint_bytes(state) / 2**20:.1f} MiB each, + logs); "
        f"nothing was trained. Free space, lower keep_checkpoints or choose "
        f"another --workdir.")
  return need


# --------------------------------------------------------------------------
# The run.


def _evaluate(trainer: Trainer, state: TrainState, eval_data) -> dict:
  (train_x, train_y), (test_x, test_y) = eval_data
  train_f, _ = trainer.features(state, train_x)
  test_f, test_logits = trainer.features(state, test_x)
  config = trainer.config
  return {
      "probe_test_acc": float(np.mean(test_logits.argmax(1) == test_y)),
      "knn_acc": knn_accuracy(train_f, train_y, test_f, test_y,
                              k=config.knn_k,
                              temperature=config.knn_temperature,
                              num_classes=trainer.num_classes),
  }


def _load_eval_data(config):
  kwargs = dict(image_size=config.image_size,
                data_dir=config.data_dir or None,
                max_examples=config.eval_max_examples or None)
  return (data_lib.load_eval_arrays(config.dataset, "probe_train", **kwargs),
          data_lib.load_eval_arrays(config.dataset, "test", **kwargs))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                       devices=None) -> dict[str, float]:
  """Trains (or resumes) the run of `config` in `workdir` and evaluates it.

  Running the same call again after an interruption restores the latest
  checkpoint in `workdir/checkpoints` and continues to `config.num_steps`,
  ending with the same parameters as an uninterrupted run.

  Args:
    config: a ConfigDict from `research/configs` (validated here).
    workdir: output directory: `metrics.jsonl`, `config.json`, `checkpoints/`.
    devices: devices of the data-parallel mesh (default: all).

  Returns:
    Final metrics: `loss` (mean of the last `log_every` steps),
    `probe_test_acc`, `knn_acc`, `step`, `train_time_s` (time spent in
    training steps in this call), `images_per_s`.

  Raises:
    ValueError: unknown config field or invalid setting.
    research.data.DatasetError: missing or corrupt dataset.
    TrainingDivergedError: the loss became NaN/Inf.
    WorkdirError: `workdir` is not writable or lacks the free space for the
      checkpoints (checked before anything is trained).

  Example:
    >>> from research.configs import simclr_digits
    >>> c = simclr_digits.get_config()
    >>> c.num_steps = 5
    >>> metrics = train_and_evaluate(c, "/tmp/simclr_digits")  # doctest: +SKIP
  """
  utils.validate_config(config)
  check_workdir_writable(workdir)
  is_main = jax.process_index() == 0
  if is_main:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2))

  source = data_lib.make_source(
      config.dataset, batch_size=config.batch_size, seed=config.seed,
      image_size=config.image_size, data_dir=config.data_dir or None,
      shuffle_buffer=config.shuffle_buffer)
  eval_data = _load_eval_data(config)
  trainer = Trainer(config, devices=devices)
  state = trainer.init_state()
  if is_main:
    check_free_space(workdir, state, config)
  manager = _checkpoint_manager(workdir, config)
  restored = restore_latest(manager, state)
  if restored is not None:
    state = restored
  start = int(jax.device_get(state["step"]))
  writer = utils.MetricWriter(workdir) if is_main else None

  stop = config.num_steps
  if config.stop_at_step >= 0:
    stop = min(stop, config.stop_at_step)
  progress = None
  if config.progress_bar and is_main:
    from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top
    progress = tqdm(total=config.num_steps, initial=start,
                    desc=config.experiment, leave=False, file=sys.stderr)

  batches = source.iterate(start)
  recent, final = [], {}
  train_time, window_time, window_images = 0.0, 0.0, 0
  last_saved = manager.latest_step()
  step = start
  try:
    while step < stop:
      batch = next(batches)
      t0 = time.perf_counter()
      batch = {k: jax.make_array_from_process_local_data(
          trainer.batch_sharding, v) for k, v in batch.items()}
      state, metrics = trainer.train_step(state, batch)
      metrics = jax.device_get(metrics)
      dt = time.perf_counter() - t0
      step += 1
      loss = float(metrics["loss"])
      if not math.isfinite(loss):
        raise TrainingDivergedError(
            f"loss is {loss} at step {step}; stopping. The last good "
            f"checkpoint (step {last_saved}) is kept in "
            f"{os.path.join(workdir, 'checkpoints')}. Lower "
            f"base_learning_rate or raise warmup_steps and rerun.")
      if step > start + 1:  # The first step of a call includes compilation.
        train_time += dt
        window_time += dt
        window_images += config.batch_size
      recent.append(loss)
      recent = recent[-max(1, config.log_every):]
      if progress is not None:
        progress.update(1)
        progress.set_postfix(loss=f"{loss:.4f}",
                             img_s=f"{window_images / max(window_time, 1e-9):.0f}")
      if writer is not None and (step % config.log_every == 0 or
                                 step == stop):
        record = {k: float(v) for k, v in metrics.items()}
        if window_time > 0:
          record["images_per_s"] = window_images / window_time
        writer.write(step, record, split="train")
        window_time, window_images = 0.0, 0
      if config.eval_every and step % config.eval_every == 0 and step < stop:
        results = _evaluate(trainer, state, eval_data)
        if writer is not None:
          writer.write(step, results, split="eval")
      if step % config.checkpoint_every == 0 or step == config.num_steps:
        _save(manager, step, state)
        last_saved = step
    if step == config.num_steps:
      if manager.latest_step() != step:
        _save(manager, step, state)
      final = _evaluate(trainer, state, eval_data)
      if writer is not None:
        writer.write(step, final, split="eval")
  finally:
    if progress is not None:
      progress.close()
    if writer is not None:
      writer.close()
    manager.close()
  steps_timed = max(step - start - 1, 0)
  final.update({
      "step": step,
      "loss": float(np.mean(recent)) if recent else float("nan"),
      "train_time_s": train_time,
      "images_per_s": (steps_timed * config.batch_size / train_time
                       if train_time > 0 else 0.0),
  })
  return final


def _parse(argv: list[str]):
  parser = argparse.ArgumentParser(
      prog="python -m research.train",
      description="Pre-train / train one experiment; overrides as "
                  "--config.FIELD=VALUE.")
  parser.add_argument("--config", required=True,
                      help="config file, optionally file.py:random_field")
  parser.add_argument("--workdir", required=True)
  args, rest = parser.parse_known_args(argv)
  overrides = []
  for item in rest:
    if not item.startswith("--config."):
      parser.error(f"unrecognised argument {item!r}")
    overrides.append(item[len("--config."):])
  config = utils.load_config(args.config)
  utils.apply_overrides(config, overrides)
  utils.validate_config(config)
  return config, args.workdir


def main(argv: list[str] | None = None) -> dict[str, float]:
  """CLI entry point; prints the final metrics as JSON."""
  config, workdir = _parse(sys.argv[1:] if argv is None else argv)
  results = train_and_evaluate(config, workdir)
  print(json.dumps(results, indent=2))
  return results


if __name__ == "__main__":
  main()
