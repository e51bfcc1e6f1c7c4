"""The static parts of a run: model definition, shardings, jitted steps.

* Parallelism: one `jax.jit`-compiled step over a 1-D `jax.sharding.Mesh` of
  all devices (axis "data"). The uint8 batch is sharded along its first axis
  (`NamedSharding(mesh, P("data"))`), the train state is replicated (`P()`);
  XLA inserts the collectives, so the contrastive loss sees the global batch
  and BatchNorm uses global statistics, with results that do not depend on
  the number of devices.
* NNX: the model is split once into a static graph definition and pure-dict
  state (`params`, `batch_stats`); the jitted step is a pure function of a
  pytree `TrainState` dict and merges the model inside (`nnx.merge`). One
  graph definition runs in `train()` mode (batch statistics), one in `eval()`
  mode (running averages). The state buffers are donated.
* Randomness: the key of step `s` is `fold_in(root_key, s)`, split into
  augmentation and objective keys (batch mixing uses `fold_in(aug_key, 1)`);
  the root key lives in the TrainState.
* Objectives see the step as `epoch = step * B / train_examples` (MoCHi's
  warm-up is counted in epochs).
* What enters the compiled step: the `augment`, `model`, `objective` and
  `optim` sub-configs, the global batch size, the class count and the
  training-split size (`step_signature`). Runs that agree on those share one compiled step, so
  the seeds of a sweep compile once; nothing else of the config is read
  inside the step.
"""

from __future__ import annotations

import json
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
from research import augment as augment_lib
from research import data as data_lib
from research import objectives
from research import optim as optim_lib
from research.configs import check
from research.model import Model
from research.objectives import registry

TrainState = dict[str, Any]


def mesh_devices(devices=None) -> np.ndarray:
  """The devices of the data mesh: each process's devices together, in order.

  Process `p`'s devices then hold rows `[p * B / P, (p + 1) * B / P)` of
  every global batch, the rows its data source loads.

  Args:
    devices: a list of devices (default: `jax.devices()`, all processes').
  """
  devices = jax.devices() if devices is None else list(np.ravel(devices))
  return np.asarray(sorted(devices, key=lambda d: (d.process_index, d.id)))


def check_topology(config: ml_collections.ConfigDict, devices=None) -> None:
  """Checks that the global batch splits evenly over processes and devices.

  Raises:
    research.configs.check.ConfigError: naming `data.batch_size` and the
      process or device count it is not a multiple of.
  """
  devices = mesh_devices(devices)
  batch = config.data.batch_size
  processes = len({d.process_index for d in devices})
  if batch % processes:
    raise check.ConfigError(
        f"config field data.batch_size={batch} must be a multiple of the "
        f"number of processes ({processes}): each process loads an equal "
        f"share of every global batch. Use a batch size divisible by "
        f"{processes} (and by the {devices.size} devices).")
  if batch % devices.size:
    raise check.ConfigError(
        f"config field data.batch_size={batch} must be a multiple of the "
        f"number of devices ({devices.size}) of the data-parallel mesh")


def step_signature(config: ml_collections.ConfigDict, num_classes: int) -> str:
  """What the compiled step depends on, as a canonical JSON string."""
  parts = {k: config[k].to_dict()
           for k in ("augment", "model", "objective", "optim")}
  parts["batch_size"] = config.data.batch_size
  parts["num_classes"] = num_classes
  parts["train_examples"] = data_lib.train_examples(config.data.dataset)
  return json.dumps(parts, sort_keys=True, default=str)


_STEP_CACHE: dict[Any, tuple[Callable, Callable]] = {}
_STEP_CACHE_SIZE = 8


class Trainer:
  """Holds the static parts of a run (graph defs, mesh, jitted functions).

  Args:
    config: a validated run config.
    devices: devices of the data-parallel mesh (default: all).

  Raises:
    research.configs.check.ConfigError: `data.batch_size` not a multiple of
      the process or device count (a `ValueError`).
  """

  def __init__(self, config: ml_collections.ConfigDict, *, devices=None):
    self.config = config
    self.objective = registry.get(config.objective.name)
    self.num_classes = data_lib.num_classes(config.data.dataset)
    self.train_examples = data_lib.train_examples(config.data.dataset)
    check_topology(config, devices)
    devices = mesh_devices(devices)
    self.mesh = Mesh(devices, ("data",))
    self.replicated = NamedSharding(self.mesh, P())
    self.batch_sharding = NamedSharding(self.mesh, P("data"))
    self._check_local_rows()
    model = Model(config, self.num_classes, rngs=nnx.Rngs(config.seed))
    model.train()
    self.train_def, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
    model.eval()
    self.eval_def = nnx.split(model, nnx.Param, nnx.BatchStat)[0]
    self._init_params = params.to_pure_dict()
    self._init_stats = stats.to_pure_dict()
    self.tx, self.schedule = optim_lib.make_optimizer(config.optim,
                                                      config.data.batch_size)
    self._augment_fn = None  # Built at first trace (evaluation needs none).
    cache_key = (step_signature(config, self.num_classes),
                 tuple(d.id for d in devices.reshape(-1)))
    if cache_key not in _STEP_CACHE:
      _STEP_CACHE[cache_key] = (
          jax.jit(self._train_step,
                  in_shardings=(self.replicated, self.batch_sharding),
                  out_shardings=(self.replicated, self.replicated),
                  donate_argnums=0),
          jax.jit(self._eval_step,
                  in_shardings=(self.replicated, self.batch_sharding),
                  out_shardings=(self.replicated, self.replicated,
                                 self.replicated)))
      while len(_STEP_CACHE) > _STEP_CACHE_SIZE:
        _STEP_CACHE.pop(next(iter(_STEP_CACHE)))
    self.train_step, self.eval_step = _STEP_CACHE[cache_key]

  def _check_local_rows(self) -> None:
    # The data source of process p loads rows [p * B / P, (p + 1) * B / P);
    # the mesh must put exactly those rows on p's devices.
    batch = self.config.data.batch_size
    processes = sorted({d.process_index for d in self.mesh.devices.flat})
    if jax.process_index() not in processes:
      raise ValueError(f"the mesh holds no device of process "
                       f"{jax.process_index()}")
    local = batch // len(processes)
    p = processes.index(jax.process_index())
    rows = sorted(index[0].indices(batch)[:2] for index in
                  self.batch_sharding.addressable_devices_indices_map(
                      (batch,)).values())
    tiled = all(a[1] == b[0] for a, b in zip(rows, rows[1:]))
    if not tiled or (rows[0][0], rows[-1][1]) != (p * local, (p + 1) * local):
      raise ValueError(f"process {p}'s devices hold batch rows {rows}, not "
                       f"[{p * local}, {(p + 1) * local})")

  def global_batch(self, local: dict[str, np.ndarray]) -> dict[str, jax.Array]:
    """This process's share of a batch, assembled into the global batch.

    Args:
      local: `{name: array}` with `B / P` rows each (the data source's).

    Returns:
      `{name: jax.Array}` of `B` rows sharded over the mesh; no data moves
      between processes.
    """
    batch = self.config.data.batch_size
    return {k: jax.make_array_from_process_local_data(
        self.batch_sharding, np.asarray(v), (batch,) + np.shape(v)[1:])
            for k, v in local.items()}

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
  def augment(self) -> augment_lib.Augmentation:
    """The single-image augmentation of the config."""
    if self._augment_fn is None:
      self._augment_fn = augment_lib.make_augment(self.config.augment)
    return self._augment_fn

  def _train_step(self, state: TrainState, batch):
    step = state["step"]
    key = jax.random.fold_in(jax.random.wrap_key_data(state["key"]), step)
    aug_key, obj_key = jax.random.split(key)
    labels = batch["label"]
    num_views = self.objective.num_views
    views = augment_lib.views(aug_key, batch["image"], self.augment,
                              num_views)
    if self.config.augment.mixing != "none":  # Soft (B, K) labels from here.
      views, labels = augment_lib.mix(jax.random.fold_in(aug_key, 1), views,
                                      labels, self.config.augment,
                                      self.num_classes)
    probe_labels = jnp.concatenate([labels] * num_views)
    epoch = step.astype(jnp.float32) * (self.config.data.batch_size /
                                        self.train_examples)

    def loss_fn(params):
      model = nnx.merge(self.train_def, params, state["batch_stats"])
      feats = model.encoder(views)
      loss, metrics = self.objective.loss(model.head, feats, labels,
                                          self.config.objective, obj_key,
                                          epoch)
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
    crop = self.config.augment.crop_size
    if images.shape[1] != crop:  # Centre crop, as in SimCLR's evaluation.
      top, left = (images.shape[1] - crop) // 2, (images.shape[2] - crop) // 2
      images = images[:, top:top + crop, left:left + crop]
    feats = model.encoder(images)
    head = (model.head(feats) if self.objective.classifier
            else jnp.zeros((feats.shape[0], 0), jnp.float32))
    return feats, model.probe(feats), head

  def features(self, state: TrainState, images: np.ndarray
               ) -> dict[str, np.ndarray]:
    """Features and logits of uint8 images (no augmentation), in eval mode.

    Args:
      state: TrainState.
      images: uint8 `(N, S, S, 3)`, the same on every process.

    Returns:
      float32 numpy arrays: `features` `(N, D)` encoder features, `probe`
      `(N, num_classes)` online-probe logits and `classifier`
      `(N, num_classes)` head logits for classifier objectives (`(N, 0)`
      otherwise).
    """
    bs = self.config.eval.batch_size
    ndev = self.mesh.devices.size
    bs = max(ndev, bs - bs % ndev)
    out = {"features": [], "probe": [], "classifier": []}
    for start in range(0, len(images), bs):
      chunk = images[start:start + bs]
      n = len(chunk)
      if n < bs:  # Pad so every call has the same shape (one compilation).
        chunk = np.concatenate([chunk, np.zeros((bs - n,) + chunk.shape[1:],
                                                chunk.dtype)])
      x = jax.device_put(chunk, self.batch_sharding)
      for name, value in zip(out, self.eval_step(state, x)):
        out[name].append(np.asarray(jax.device_get(value))[:n])
    return {k: np.concatenate(v) for k, v in out.items()}
