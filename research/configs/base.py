"""Shared defaults of every experiment config, and the per-dataset settings.

An experiment file is one line on top of `get_config(objective=..., dataset=...)`.
Every field a run can use exists here, so a typo in an override
(`--config.batch_szie=64`) is rejected with the field's name instead of being
silently ignored.

Random fields ("with and without"): every experiment file takes an optional
argument, `--config research/configs/simclr_cifar10.py:mild`, or set
`--config.random_field=mild|medium|strong` (empty string = SimCLR
augmentations alone).
"""

from __future__ import annotations

import ml_collections

OBJECTIVES = ("simclr", "mochi", "multihead", "supcon", "cross_entropy")
RANDOM_FIELDS = ("", "mild", "medium", "strong")

# Per dataset: host image size, view size, augmentation preset, model, length.
_DATASETS = {
    "digits": dict(image_size=32, crop_size=32, augment="simclr_cifar",
                   aug_strength=0.5, encoder="small_cnn", num_features=128,
                   stem="cifar", batch_size=256, num_steps=300,
                   warmup_steps=30, eval_every=100, checkpoint_every=100,
                   head_hidden=256, eval_max_examples=0),
    "cifar10": dict(image_size=32, crop_size=32, augment="simclr_cifar",
                    aug_strength=0.5, encoder="resnet18", num_features=512,
                    stem="cifar", batch_size=512,
                    num_steps=1000 * (50_000 // 512),  # 1000 epochs
                    warmup_steps=10 * (50_000 // 512), eval_every=5000,
                    checkpoint_every=2000, head_hidden=2048,
                    eval_max_examples=0),
    "imagenet2012": dict(image_size=256, crop_size=224, augment="simclr",
                         aug_strength=1.0, encoder="resnet50",
                         num_features=2048, stem="imagenet", batch_size=4096,
                         num_steps=100 * (1_281_167 // 4096),  # 100 epochs
                         warmup_steps=10 * (1_281_167 // 4096),
                         eval_every=5000, checkpoint_every=1000,
                         head_hidden=2048, eval_max_examples=50_000),
}

_OBJECTIVES = {
    # SimCLR-type runs: LARS, lr 0.3 * B / 256 (DESIGN 3.5).
    "simclr": dict(optimizer="lars", base_learning_rate=0.3,
                   weight_decay=1e-6, temperature=0.5),
    "mochi": dict(optimizer="lars", base_learning_rate=0.3,
                  weight_decay=1e-6, temperature=0.5),
    "multihead": dict(optimizer="lars", base_learning_rate=0.3,
                      weight_decay=1e-6, temperature=0.5),
    # SupCon: SGD with momentum, tau = 0.07 (Khosla et al. 2020).
    "supcon": dict(optimizer="sgd", base_learning_rate=0.05,
                   weight_decay=1e-4, temperature=0.07),
    "cross_entropy": dict(optimizer="sgd", base_learning_rate=0.1,
                          weight_decay=5e-4, temperature=1.0),
}


def get_config(objective: str = "simclr", dataset: str = "digits",
               random_field: str = "") -> ml_collections.ConfigDict:
  """The full default config of one experiment.

  Args:
    objective: one of `OBJECTIVES`.
    dataset: "digits", "cifar10" or "imagenet2012" (cifar100, stl10 and
      i_naturalist2021 run by overriding `dataset` on a cifar10 / imagenet2012
      config).
    random_field: "" (off) or a `jaxaug.presets.simclr_cifar` random field
      setting: "mild", "medium", "strong".

  Returns:
    A ConfigDict; see the comments below for each field.
  """
  if objective not in OBJECTIVES:
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
  if dataset not in _DATASETS:
    raise ValueError(f"dataset must be one of {sorted(_DATASETS)}, "
                     f"got {dataset!r}")
  if random_field not in RANDOM_FIELDS:
    raise ValueError(f"random_field must be one of {RANDOM_FIELDS}, "
                     f"got {random_field!r}")
  d, o = _DATASETS[dataset], _OBJECTIVES[objective]
  c = ml_collections.ConfigDict()
  c.experiment = f"{objective}_{dataset}"
  c.seed = 0  # Model init, augmentation and data order all derive from it.

  # Data (research.data). Images reach the device as uint8 of image_size.
  c.dataset = dataset
  c.data_dir = ""  # tfds data_dir; "" = tfds default / $TFDS_DATA_DIR.
  c.image_size = d["image_size"]
  c.shuffle_buffer = 10_000
  c.eval_max_examples = d["eval_max_examples"]  # 0 = whole split.

  # Augmentation on the device (jaxaug.presets).
  # "simclr_cifar", "simclr" (ImageNet recipe) or "flip" (fast smoke tests).
  c.augment = d["augment"]
  c.crop_size = d["crop_size"]
  c.aug_strength = d["aug_strength"]
  c.random_field = random_field

  # Model (research.models).
  c.encoder = d["encoder"]
  c.num_features = d["num_features"]
  # small_cnn only: widths of the blocks before the last (strides 1, 2, 2).
  c.small_cnn_widths = (32, 64, 128)
  c.stem = d["stem"]  # ResNets only: "cifar" or "imagenet".
  c.head_hidden = d["head_hidden"]
  c.head_out = 128
  c.head_layers = 2  # 2 = SimCLR v1 head, 3 = SimCLR v2 head.

  # Objective (research.objectives).
  c.objective = objective
  c.temperature = o["temperature"]
  c.label_smoothing = 0.0  # cross_entropy only.
  c.mochi_num_hardest = 256  # Capped at 2B - 2 inside the loss.
  c.mochi_num_mix = 64
  c.mochi_num_mix_query = 32
  c.mochi_warmup_steps = 0  # Plain NT-Xent before this step.
  c.multihead_num_heads = 3
  c.multihead_beta = 0.1

  # Optimisation: warm-up then cosine; lr = base_learning_rate * B / 256.
  c.batch_size = d["batch_size"]  # Global, over all devices and hosts.
  c.num_steps = d["num_steps"]
  c.warmup_steps = d["warmup_steps"]
  c.optimizer = o["optimizer"]  # "lars", "sgd" or "adamw".
  c.base_learning_rate = o["base_learning_rate"]
  c.weight_decay = o["weight_decay"]
  c.momentum = 0.9
  c.lars_trust_coefficient = 1e-3
  c.probe_learning_rate = 1e-3  # Adam, online linear probe.

  # Evaluation: online probe + kNN every eval_every steps and at the end.
  c.eval_every = d["eval_every"]  # 0 = only at the end.
  c.eval_batch_size = 512
  c.knn_k = 20
  c.knn_temperature = 0.07

  # Bookkeeping.
  c.log_every = 10
  c.checkpoint_every = d["checkpoint_every"]
  c.keep_checkpoints = 2
  c.progress_bar = True
  c.stop_at_step = -1  # >= 0: stop there, no save, as if killed (tests).
  return c
