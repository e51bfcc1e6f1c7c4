"""Every config field of a run: default, meaning, and what values are allowed.

A run's config is a nested `ml_collections.ConfigDict` with the sub-configs

  data       dataset, image size, global batch size
  augment    the on-device augmentation (jaxaug presets, random fields)
  model      encoder and head sizes
  objective  the training objective (`research.objectives.registry`)
  optim      optimiser, learning-rate schedule and its batch-size scaling
  eval       online and final evaluation (probes, kNN)
  checkpoint orbax checkpoint cadence

plus `name`, `seed` and a few bookkeeping fields at the top. `FIELDS` below is
the single source of the defaults, the help text (`python -m research.train
--config_help`) and the checks (`research.configs.check.validate`).
`get_config(objective, dataset, random_field)` fills in the per-dataset and
per-objective values; `research/configs/experiment.py` is the file the CLI
loads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ml_collections

# The values a few fields may take. Objective names come from the objective
# registry; they are repeated here so that configs load without importing JAX.
OBJECTIVES = ("simclr", "mochi", "multihead", "supcon", "cross_entropy")
# Objectives whose loss takes soft labels, so that a batch can be mixed.
SOFT_LABEL_OBJECTIVES = ("cross_entropy",)
MIXINGS = ("none", "mixup", "cutmix", "resizemix")
DATASETS = ("digits", "cifar10", "cifar100", "stl10", "imagenet2012",
            "i_naturalist2021")
RANDOM_FIELDS = ("", "mild", "medium", "strong")
AUGMENT_PRESETS = ("simclr_cifar", "simclr", "flip", "none")
ENCODERS = ("small_cnn", "resnet18", "resnet50")
OPTIMIZERS = ("lars", "sgd", "adamw")
LR_SCALINGS = ("linear", "sqrt", "none")


@dataclasses.dataclass(frozen=True)
class Field:
  """One config field: its default, its meaning and the values allowed.

  Attributes:
    default: the default value (its Python type is the field's type).
    help: one line for `--config_help`.
    choices: the allowed values, if a closed set.
    low, high: inclusive numeric bounds (None: unbounded).
    low_open: True if `low` itself is not allowed (e.g. a temperature > 0).
  """

  default: Any
  help: str
  choices: tuple[Any, ...] | None = None
  low: float | None = None
  high: float | None = None
  low_open: bool = False


F = Field
FIELDS: dict[str, Field] = {
    "name": F("", "run name shown in logs; default <objective>_<dataset>"),
    "seed": F(0, "model init, augmentation and data order derive from it",
              low=0, high=2**31 - 1),
    # data
    "data.dataset": F("digits", "dataset; digits is embedded (no download)",
                      choices=DATASETS),
    "data.data_dir": F("", "tfds data_dir ('' = $TFDS_DATA_DIR or "
                       "~/tensorflow_datasets); unused for digits"),
    "data.image_size": F(32, "side of the square uint8 images sent to the "
                         "device (pixels)", low=4, high=2048),
    "data.batch_size": F(256, "global batch size (all devices and processes)",
                         low=2),
    "data.num_workers": F(0, "grain worker processes that read and decode "
                          "the training images (0: the training process)",
                          low=0),
    # augment
    "augment.preset": F("simclr_cifar", "jaxaug preset: simclr_cifar, simclr "
                        "(ImageNet recipe), flip (smoke tests), none",
                        choices=AUGMENT_PRESETS),
    "augment.crop_size": F(32, "side of the augmented views (pixels)", low=4),
    "augment.strength": F(0.5, "colour-jitter strength s of the SimCLR "
                          "recipe", low=0.0, high=2.5),
    "augment.area": F((0.08, 1.0), "(min, max) fraction of the image area "
                      "kept by the random resized crop"),
    "augment.random_order": F(True, "shuffle the colour-jitter ops per view"),
    "augment.random_field": F("", "random field setting added after the "
                              "crop: '' (off), mild, medium, strong",
                              choices=RANDOM_FIELDS),
    "augment.random_field_strength": F(1.0, "multiplies every field "
                                       "magnitude of the random_field "
                                       "setting", low=0.0),
    "augment.random_field_length_scale": F(0.0, "length scale of the fields "
                                           "as a fraction of the image side "
                                           "(0: the setting's)", low=0.0,
                                           high=4.0),
    "augment.mixing": F("none", "batch-level mixing with soft labels "
                        "(cross_entropy only): none, mixup (Zhang et al. "
                        "2018), cutmix (Yun et al. 2019), resizemix (Qin et "
                        "al. 2020)", choices=MIXINGS),
    "augment.mixing_alpha": F(1.0, "mixup / cutmix: the mixing ratio is "
                              "drawn from Beta(alpha, alpha); resizemix "
                              "draws its scale from U(0.1, 0.8)", low=0.0,
                              low_open=True),
    # model
    "model.encoder": F("small_cnn", "encoder", choices=ENCODERS),
    "model.num_features": F(128, "encoder output width (small_cnn; ResNets "
                            "have their own)", low=1),
    "model.small_cnn_widths": F((32, 64, 128), "small_cnn: widths of the "
                                "blocks before the last (strides 1, 2, 2)"),
    "model.stem": F("cifar", "ResNet stem: cifar (3x3, no pool) or imagenet",
                    choices=("cifar", "imagenet")),
    "model.head_hidden": F(256, "projection head hidden width", low=1),
    "model.head_out": F(128, "projection (contrastive space) width", low=1),
    "model.head_layers": F(2, "projection head depth: 2 (SimCLR v1) or 3 "
                           "(v2)", choices=(2, 3)),
    # objective
    "objective.name": F("simclr", "training objective", choices=OBJECTIVES),
    "objective.temperature": F(0.5, "softmax temperature of contrastive "
                               "objectives", low=0.0, low_open=True),
    "objective.label_smoothing": F(0.0, "cross_entropy label smoothing",
                                   low=0.0, high=0.99),
    # MoCHi's (N, s, s') = (256, 512, 256) setting (Kalantidis et al. 2020).
    "objective.mochi.num_hardest": F(256, "MoCHi N: hardest negatives mixed "
                                     "(capped at 2B - 2)", low=1),
    "objective.mochi.num_mix": F(512, "MoCHi s: synthetic negatives from "
                                 "pairs of hard negatives", low=0),
    "objective.mochi.num_mix_query": F(256, "MoCHi s': synthetic negatives "
                                       "mixed with the query", low=0),
    "objective.mochi.warmup_epochs": F(10.0, "MoCHi: plain NT-Xent (no "
                                       "mixing computed) for this many "
                                       "epochs of the training split",
                                       low=0.0),
    "objective.multihead.num_heads": F(3, "multihead: number of projection "
                                       "heads C", low=1),
    "objective.multihead.beta": F(0.1, "multihead: weight of the "
                                  "temperature prior Omega (> 0: each row "
                                  "has one optimal temperature)", low=0.0,
                                  low_open=True),
    # optim
    "optim.optimizer": F("lars", "optimiser of encoder and head",
                         choices=OPTIMIZERS),
    "optim.num_steps": F(300, "training steps", low=0),
    "optim.warmup_steps": F(30, "linear learning-rate warm-up steps before "
                            "the cosine decay", low=0),
    "optim.base_learning_rate": F(0.3, "learning rate before batch-size "
                                  "scaling", low=0.0, low_open=True),
    "optim.lr_scaling": F("linear", "peak lr = base * B / 256 (linear), "
                          "base * sqrt(B) (sqrt) or base (none)",
                          choices=LR_SCALINGS),
    "optim.weight_decay": F(1e-6, "decoupled weight decay (kernels only)",
                            low=0.0),
    "optim.momentum": F(0.9, "momentum of lars / sgd", low=0.0, high=0.999),
    "optim.lars_trust_coefficient": F(1e-3, "LARS trust coefficient eta",
                                      low=0.0, low_open=True),
    "optim.probe_learning_rate": F(1e-3, "Adam lr of the online linear probe",
                                   low=0.0, low_open=True),
    # eval
    "eval.every": F(100, "online evaluation every this many steps (0: only "
                    "at the end)", low=0),
    "eval.batch_size": F(512, "batch size of feature extraction", low=1),
    "eval.knn_k": F(20, "kNN neighbours", low=1),
    "eval.knn_temperature": F(0.07, "kNN vote temperature", low=0.0,
                              low_open=True),
    "eval.max_examples": F(0, "cap on evaluation images per split (0: all)",
                           low=0),
    "eval.few_label_shots": F((1, 5, 10), "labels per class of the few-label "
                              "probes"),
    "eval.few_label_draws": F(5, "fixed label draws averaged per few-label "
                              "probe", low=1),
    # checkpoint
    "checkpoint.every": F(100, "save every this many steps (and at the end)",
                          low=1),
    "checkpoint.keep": F(2, "checkpoints kept", low=1),
    # bookkeeping
    "log_every": F(10, "write train metrics every this many steps", low=1),
    "progress_bar": F(True, "show a tqdm progress bar"),
    "stop_at_step": F(-1, "stop there without saving, as if killed (tests; "
                      "-1: off)", low=-1),
}
del F

# Fields that may differ when a run is resumed: they do not change what the
# finished run computes (num_steps stretches the cosine schedule from the
# resume point on; the run records each change in config_changes.jsonl).
RESUME_SAFE = frozenset({
    "optim.num_steps", "eval.every", "eval.batch_size", "eval.max_examples",
    "checkpoint.every", "checkpoint.keep", "log_every", "progress_bar",
    "stop_at_step", "data.data_dir", "data.num_workers", "name",
})

# Per dataset: sizes, model, length. The digits values are the demo recipe
# (docs/demo.md explains each choice); cifar10 and imagenet2012 follow SimCLR.
_DATASET_VALUES: dict[str, dict[str, Any]] = {
    "digits": {
        "data.image_size": 16, "augment.crop_size": 16,
        "augment.area": (0.08, 1.0), "augment.strength": 0.5,
        "model.encoder": "small_cnn", "model.small_cnn_widths": (16, 32, 32),
        "model.num_features": 128, "model.head_hidden": 128,
        "model.head_out": 64, "data.batch_size": 128, "optim.num_steps": 300,
        "optim.warmup_steps": 30, "eval.every": 75, "checkpoint.every": 300,
    },
    "cifar10": {
        "data.image_size": 32, "augment.crop_size": 32,
        "augment.strength": 0.5, "model.encoder": "resnet18",
        "model.stem": "cifar", "model.head_hidden": 2048,
        "data.batch_size": 512, "data.num_workers": 4,
        "optim.num_steps": 1000 * (50_000 // 512),
        "optim.warmup_steps": 10 * (50_000 // 512), "eval.every": 5000,
        "checkpoint.every": 2000,
    },
    "imagenet2012": {
        "data.image_size": 256, "augment.crop_size": 224,
        "augment.preset": "simclr", "augment.strength": 1.0,
        "model.encoder": "resnet50", "model.stem": "imagenet",
        "model.head_hidden": 2048, "data.batch_size": 4096,
        "data.num_workers": 16, "optim.num_steps": 100 * (1_281_167 // 4096),
        "optim.warmup_steps": 10 * (1_281_167 // 4096), "eval.every": 5000,
        "checkpoint.every": 1000, "eval.max_examples": 50_000,
    },
}
_DATASET_VALUES["cifar100"] = _DATASET_VALUES["cifar10"]
_DATASET_VALUES["stl10"] = {**_DATASET_VALUES["cifar10"],
                            "data.image_size": 96, "augment.crop_size": 96,
                            "augment.preset": "simclr",
                            "augment.strength": 1.0}
_DATASET_VALUES["i_naturalist2021"] = _DATASET_VALUES["imagenet2012"]

# Per objective, on accelerator-scale datasets: the papers' optimisers.
_OBJECTIVE_VALUES: dict[str, dict[str, Any]] = {
    # SimCLR (Chen et al. 2020): LARS, lr 0.3 x B / 256, wd 1e-6, t = 0.5
    # for CIFAR-10 (their appendix B.9), 0.1 for ImageNet.
    "simclr": {"optim.optimizer": "lars", "optim.base_learning_rate": 0.3,
               "optim.weight_decay": 1e-6, "objective.temperature": 0.5},
    "mochi": {"optim.optimizer": "lars", "optim.base_learning_rate": 0.3,
              "optim.weight_decay": 1e-6, "objective.temperature": 0.5},
    "multihead": {"optim.optimizer": "lars", "optim.base_learning_rate": 0.3,
                  "optim.weight_decay": 1e-6, "objective.temperature": 0.5},
    # SupCon (Khosla et al. 2020): SGD + momentum, t = 0.07.
    "supcon": {"optim.optimizer": "sgd", "optim.base_learning_rate": 0.05,
               "optim.weight_decay": 1e-4, "objective.temperature": 0.07},
    "cross_entropy": {"optim.optimizer": "sgd",
                      "optim.base_learning_rate": 0.1,
                      "optim.weight_decay": 5e-4,
                      "objective.temperature": 1.0},
}

# The digits demo recipe for every objective: AdamW at a fixed learning rate
# (LARS's trust ratio with eta = 1e-3 moves a small batch's weights by about
# 1e-4 of their norm per step: nothing is learnt in minutes), t = 0.1.
_DIGITS_OBJECTIVE_VALUES: dict[str, Any] = {
    "optim.optimizer": "adamw", "optim.base_learning_rate": 3e-3,
    "optim.lr_scaling": "none", "optim.weight_decay": 1e-4,
    "objective.temperature": 0.1,
}


# Objective-specific digits values. MoCHi: the paper's 768 synthetic
# negatives would be 3x the 254 in-batch negatives of a batch of 128 (in
# MoCHi they are a few percent of a 16k queue), and (64, 128, 64) did not
# learn on a validation split of the training digits (5-label probe 83.9%
# vs SimCLR's 86.9%); (64, 32, 16) keeps s = 2 s' and reached 86.7%. The
# warm-up is the learning-rate warm-up's 30 steps (2.56 epochs). The
# validation runs are listed in results/objectives/results.md.
_DIGITS_PER_OBJECTIVE: dict[str, dict[str, Any]] = {
    "mochi": {"objective.mochi.num_hardest": 64,
              "objective.mochi.num_mix": 32,
              "objective.mochi.num_mix_query": 16,
              "objective.mochi.warmup_epochs": 2.5},
}


def defaults() -> ml_collections.ConfigDict:
  """The nested ConfigDict of every field at its `FIELDS` default."""
  config = ml_collections.ConfigDict()
  for path, field in FIELDS.items():
    node = config
    *parents, leaf = path.split(".")
    for part in parents:
      if part not in node:
        node[part] = ml_collections.ConfigDict()
      node = node[part]
    node[leaf] = field.default
  return config


def set_path(config: ml_collections.ConfigDict, path: str, value: Any) -> None:
  """Sets the dotted field `path` (e.g. "optim.num_steps") of `config`."""
  *parents, leaf = path.split(".")
  node = config
  for part in parents:
    node = node[part]
  node[leaf] = value


def get_path(config: ml_collections.ConfigDict, path: str) -> Any:
  """The value of the dotted field `path` of `config`."""
  node = config
  for part in path.split("."):
    node = node[part]
  return node


def split_objective(objective: str) -> tuple[str, str]:
  """`"cross_entropy+mixup"` -> `("cross_entropy", "mixup")`; no `+`: "none".

  Example:
    >>> split_objective("simclr")
    ('simclr', 'none')
  """
  name, _, mixing = objective.partition("+")
  return name, mixing or "none"


def get_config(objective: str = "simclr", dataset: str = "digits",
               random_field: str = "") -> ml_collections.ConfigDict:
  """The full config of one experiment.

  Args:
    objective: one of `OBJECTIVES`, optionally `+` a batch mixing of
      `MIXINGS` for objectives that take soft labels
      (`"cross_entropy+cutmix"` sets `augment.mixing = "cutmix"`).
    dataset: one of `DATASETS`.
    random_field: "" (off), "mild", "medium" or "strong".

  Returns:
    A nested ConfigDict with every field of `FIELDS`.

  Raises:
    ValueError: an unknown objective, mixing, dataset or random-field
      setting, naming the allowed values.

  Example:
    >>> get_config("simclr", "digits", "mild").augment.random_field
    'mild'
    >>> get_config("cross_entropy+mixup").augment.mixing
    'mixup'
  """
  name, mixing = split_objective(objective)
  for value, what, allowed in ((name, "objective", OBJECTIVES),
                               (mixing, "mixing", MIXINGS),
                               (dataset, "dataset", DATASETS),
                               (random_field, "random_field", RANDOM_FIELDS)):
    if value not in allowed:
      raise ValueError(f"unknown {what} {value!r}; allowed: "
                       f"{', '.join(repr(a) for a in allowed)}")
  if mixing != "none" and name not in SOFT_LABEL_OBJECTIVES:
    raise ValueError(f"mixing {mixing!r} needs an objective that takes soft "
                     f"labels ({', '.join(SOFT_LABEL_OBJECTIVES)}), got "
                     f"{name!r}")
  config = defaults()
  values = {**_DATASET_VALUES[dataset], **_OBJECTIVE_VALUES[name]}
  if dataset == "digits":
    values.update(_DIGITS_OBJECTIVE_VALUES)
    values.update(_DIGITS_PER_OBJECTIVE.get(name, {}))
  values.update({"objective.name": name, "data.dataset": dataset,
                 "augment.random_field": random_field,
                 "augment.mixing": mixing})
  for path, value in values.items():
    set_path(config, path, value)
  config.name = "_".join(p for p in (objective, dataset, random_field) if p)
  return config
