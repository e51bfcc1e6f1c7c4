"""The evaluation protocol shared by the demo, the sweep and the objectives table.

A *setting* is a name and a config; `run_setting` trains it once per seed in
a fresh workdir with `research.train.train_and_evaluate` and turns each run
into one record. The baselines every table carries come from the same
config:

* `untrained`: the same encoder at its initialisation (same seeds), never
  trained: what the architecture alone gives.
* `raw_pixels`: the centre-cropped pixels as features (no network).
* `supervised`: cross-entropy with every training label, the same
  augmentations, encoder and number of steps: an upper bound for what the
  features can reach.

Every record is evaluated identically (`research.evaluation.evaluate`):
few-label probes, the full linear probe and kNN on frozen features of
un-augmented images, scored on the test split. Nothing is selected on it.

Record keys (the `results.json` schema): `setting`, `seed`,
`few_label_probe_acc` (`{"1": acc, "5": acc, ...}`), `linear_probe_acc`,
`knn_acc`; for trained settings `final_loss`, `chance_loss` (ln(2B - 1) for
two-view contrastive objectives, ln(num_classes) for cross-entropy),
`train_s`; `classifier_test_acc` for the supervised setting; `curves` (loss
and 5-label probe over steps) is kept out of the JSON file by the writers.
"""

from __future__ import annotations

import copy
import math
import os
import platform
import shutil
import sys
import time
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np

from research import evaluation
from research import train
from research import utils
from research.configs import base
from research.configs import experiment
from research.objectives import registry
from research.trainer import Trainer

Record = dict[str, Any]


def default_devices():
  """One device on CPU (fake devices share the cores), all on accelerators."""
  devices = jax.devices()
  return devices[:1] if devices[0].platform == "cpu" else devices


def demo_config(steps: int | None = None) -> ml_collections.ConfigDict:
  """The demo's SimCLR config (the digits recipe), optionally with `steps`.

  `steps` also sets the warm-up (10%), four evaluations and one checkpoint.
  """
  config = experiment.get_config("simclr,digits")
  if steps is not None:
    config.optim.num_steps = steps
    config.optim.warmup_steps = max(1, steps // 10)
    config.eval.every = max(1, steps // 4)
    config.checkpoint.every = steps
  config.progress_bar = sys.stderr.isatty()
  return config


def machine() -> str:
  """One line naming the CPU, devices, JAX version and load average."""
  import jax  # pylint: disable=g-import-not-at-top
  load = os.getloadavg() if hasattr(os, "getloadavg") else ()
  devices = jax.devices()
  return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
          f"CPUs, {len(devices)} {devices[0].platform} device(s) "
          f"({devices[0].device_kind}), JAX {jax.__version__}, load average "
          f"{' '.join(f'{x:.2f}' for x in load)} at the end")


def chance_loss(config: ml_collections.ConfigDict) -> float:
  """The loss of an encoder that knows nothing, for the config's objective.

  ln(2B - 1) for two-view contrastive objectives (uniform over the other
  views), ln(num_classes) for cross-entropy.
  """
  objective = registry.get(config.objective.name)
  if objective.classifier:
    from research import data  # pylint: disable=g-import-not-at-top
    return math.log(data.num_classes(config.data.dataset))
  return math.log(2 * config.data.batch_size - 1)


def with_seed(config: ml_collections.ConfigDict, seed: int
              ) -> ml_collections.ConfigDict:
  c = copy.deepcopy(config)
  c.seed = int(seed)
  return c


def supervised_config(config: ml_collections.ConfigDict
                      ) -> ml_collections.ConfigDict:
  """Cross-entropy with `config`'s data, augmentation, encoder and steps."""
  sup = base.get_config("cross_entropy", config.data.dataset)
  for section in ("data", "augment", "optim", "eval", "checkpoint"):
    sup[section] = copy.deepcopy(config[section])
  for field in ("encoder", "num_features", "small_cnn_widths", "stem"):
    sup.model[field] = config.model[field]
  for field in ("log_every", "progress_bar"):
    sup[field] = config[field]
  sup.name = "supervised"
  return sup


def _curves(workdir: str) -> dict[str, list]:
  records = utils.read_metrics(workdir)
  loss = [(r["step"], r["loss"]) for r in records if r["split"] == "train"]
  few = [(r["step"], r["few_label_probe_acc"].get("5"))
         for r in records if r["split"] == "eval" and
         isinstance(r.get("few_label_probe_acc"), dict)]
  return {"loss": loss, "few_label_5": [(s, a) for s, a in few
                                        if a is not None]}


def _pick(results: dict[str, Any]) -> Record:
  keys = ("few_label_probe_acc", "linear_probe_acc", "knn_acc",
          "classifier_test_acc")
  return {k: results[k] for k in keys if k in results}


def run_setting(name: str, config: ml_collections.ConfigDict,
                seeds: Sequence[int], root: str, *, devices=None,
                log=print) -> list[Record]:
  """Trains `config` once per seed (fresh workdirs under `root`)."""
  devices = default_devices() if devices is None else devices
  records = []
  for seed in seeds:
    workdir = os.path.join(root, f"{name.replace('+', '_')}_seed{seed}")
    shutil.rmtree(workdir, ignore_errors=True)  # A fresh run, never a resume.
    start = time.perf_counter()
    results = train.train_and_evaluate(with_seed(config, seed), workdir,
                                       devices=devices)
    record = {"setting": name, "seed": int(seed), **_pick(results),
              "final_loss": results["loss"],
              "chance_loss": chance_loss(config),
              "train_s": time.perf_counter() - start,
              "curves": _curves(workdir)}
    records.append(record)
    log(f"{name} seed {seed}: 5-label probe "
        f"{record['few_label_probe_acc'].get('5', float('nan')):.3f}, "
        f"linear probe {record['linear_probe_acc']:.3f}, kNN "
        f"{record['knn_acc']:.3f}, loss {record['final_loss']:.3f} / chance "
        f"{record['chance_loss']:.3f} ({record['train_s']:.0f} s)")
  return records


def untrained(config: ml_collections.ConfigDict, seeds: Sequence[int],
              eval_data, *, devices=None, log=print) -> list[Record]:
  """The encoder of `config` at initialisation, one record per seed."""
  devices = default_devices() if devices is None else devices
  records = []
  for seed in seeds:
    trainer = Trainer(with_seed(config, seed), devices=devices)
    results = evaluation.evaluate(trainer, trainer.init_state(), eval_data)
    records.append({"setting": "untrained", "seed": int(seed),
                    **_pick(results)})
    log(f"untrained seed {seed}: 5-label probe "
        f"{records[-1]['few_label_probe_acc'].get('5', float('nan')):.3f}")
  return records


def raw_pixels(config: ml_collections.ConfigDict, eval_data) -> Record:
  """The centre-cropped pixels (scaled to [0, 1]) as features.

  No randomness is involved (the label draws are fixed), so this is one
  record, with seed 0.
  """
  (train_x, train_y), (test_x, test_y) = eval_data
  crop = config.augment.crop_size

  def features(images):
    top = (images.shape[1] - crop) // 2
    left = (images.shape[2] - crop) // 2
    x = images[:, top:top + crop, left:left + crop]
    return x.reshape(len(x), -1).astype(np.float32) / 255.0

  results = evaluation.evaluate_arrays(features(train_x), train_y,
                                       features(test_x), test_y, config.eval)
  return {"setting": "raw_pixels", "seed": 0, **_pick(results)}


def baselines(config: ml_collections.ConfigDict, seeds: Sequence[int],
              out: str, *, log=print) -> tuple[str, Any, list[Record]]:
  """Prepares `out` for a fresh table and records the two baselines.

  Creates `out`, empties its training folder `out/runs` (a table is never
  built from an earlier run's workdirs), loads the evaluation data and
  computes the `untrained` (one record per seed) and `raw_pixels` records.

  Returns:
    `(runs_root, eval_data, records)`.
  """
  os.makedirs(out, exist_ok=True)
  root = os.path.join(out, "runs")
  shutil.rmtree(root, ignore_errors=True)
  eval_data = evaluation.load_eval_data(config)
  records = untrained(config, seeds, eval_data, log=log)
  records.append(raw_pixels(config, eval_data))
  return root, eval_data, records


def stderr_log(message: str) -> None:
  print(message, file=sys.stderr, flush=True)
