"""`make demo`: SimCLR on the embedded digits, with and without random fields.

Pre-trains the small CNN with SimCLR (NT-Xent, LARS) on scikit-learn's
handwritten digits (1,500 training images, 32x32 RGB) under three
augmentation settings, with the same seeds:

  (a) `simclr_cifar` augmentations alone,
  (b) the same + mild random fields,
  (c) the same + strong random fields;

then evaluates each encoder with an offline linear probe (logistic regression
on frozen features of the un-augmented images) and kNN, and writes

  results/demo/results.md   table: setting, probe accuracy mean ± std, kNN
                            accuracy, pre-training time
  results/demo/curves.png   training loss and online kNN accuracy per setting
  results/demo/views.png    augmented views produced by each setting

The run is sized for a 2-core CPU (the whole `make demo`, installation
included, in under 15 minutes): `--steps`, `--batch-size`, `--seeds` change
it. The numbers are what they are; nothing here is tuned for an outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

SETTINGS = (
    ("SimCLR augmentations", ""),
    ("+ mild random fields", "mild"),
    ("+ strong random fields", "strong"),
)


def _config(random_field: str, seed: int, args):
  from research.configs import simclr_digits  # pylint: disable=g-import-not-at-top
  c = simclr_digits.get_config(random_field)
  c.seed = seed
  c.batch_size = args.batch_size
  c.num_features = args.features
  c.small_cnn_widths = tuple(args.widths)
  c.num_steps = args.steps
  c.warmup_steps = max(1, args.steps // 10)
  c.eval_every = args.eval_every
  c.checkpoint_every = args.steps
  c.log_every = 5
  c.keep_checkpoints = 1
  return c


def _views_figure(path: str, args, num_images: int = 6) -> None:
  """Originals and two augmented views per setting, one row each."""
  import jax  # pylint: disable=g-import-not-at-top
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  import jaxaug  # pylint: disable=g-import-not-at-top
  from research import data  # pylint: disable=g-import-not-at-top
  from research import train  # pylint: disable=g-import-not-at-top

  images, _ = data.load_digits("test")
  images = jaxaug.to_float(images[:num_images])
  rows = [("original", np.asarray(images))]
  for name, field in SETTINGS:
    aug = train.make_augment(_config(field, 0, args))
    key = jax.random.key(0)
    fn = jax.jit(lambda k, x, aug=aug: jaxaug.presets.two_views(k, x, aug))
    # Six images: run time is nothing, and the unoptimised build compiles
    # several times faster than the default one.
    fn = fn.lower(key, images).compile(
        {"xla_backend_optimization_level": 0,
         "xla_llvm_disable_expensive_passes": True})
    v1, v2 = fn(key, images)
    rows.append((f"{name}: view 1", np.asarray(v1)))
    rows.append((f"{name}: view 2", np.asarray(v2)))
  fig, axes = plt.subplots(len(rows), num_images,
                           figsize=(1.3 * num_images, 1.4 * len(rows)))
  for r, (label, row) in enumerate(rows):
    for i in range(num_images):
      ax = axes[r, i]
      ax.imshow(np.clip(row[i], 0, 1), interpolation="nearest")
      ax.set_xticks([])
      ax.set_yticks([])
    axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center",
                          fontsize=8)
  fig.suptitle("Augmented views (digits, 32x32)")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _curves_figure(path: str, runs: dict) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  from research import utils  # pylint: disable=g-import-not-at-top

  fig, (ax_loss, ax_knn) = plt.subplots(1, 2, figsize=(10, 3.8))
  for (name, _), color in zip(SETTINGS, ("C0", "C1", "C3")):
    for i, workdir in enumerate(runs[name]):
      train_rec = utils.read_metrics(workdir, split="train")
      eval_rec = utils.read_metrics(workdir, split="eval")
      label = name if i == 0 else None
      ax_loss.plot([r["step"] for r in train_rec],
                   [r["loss"] for r in train_rec], color=color, alpha=0.7,
                   label=label)
      ax_knn.plot([r["step"] for r in eval_rec],
                  [r["knn_acc"] for r in eval_rec], "o-", color=color,
                  alpha=0.7, label=label)
  ax_loss.set(xlabel="step", ylabel="NT-Xent loss", title="Pre-training loss")
  ax_knn.set(xlabel="step", ylabel="kNN accuracy (test)",
             title="Online kNN accuracy")
  ax_loss.legend()
  ax_knn.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _table(rows, args, total_s: float) -> str:
  lines = [
      "# Demo: SimCLR on the embedded digits, with and without random fields",
      "",
      f"Small CNN (research.models.SmallCNN, widths {args.widths}, "
      f"{args.features} features), SimCLR NT-Xent "
      f"(temperature 0.5), LARS, batch {args.batch_size}, {args.steps} steps "
      f"(~{args.steps * args.batch_size / 1500:.0f} epochs of 1,500 images), "
      f"seeds {list(range(args.seeds))}. Linear probe: logistic regression on "
      f"frozen features of the 1,500 un-augmented training images, scored on "
      f"the 297 test images; kNN: k=20, cosine, weighted.",
      "",
      "| setting | linear probe acc (mean ± std) | kNN acc (mean ± std) "
      "| pre-training time per run (s) |",
      "|---|---|---|---|",
  ]
  for name, probe, knn, secs in rows:
    lines.append(
        f"| {name} | {100 * np.mean(probe):.1f} ± {100 * np.std(probe):.1f} % "
        f"| {100 * np.mean(knn):.1f} ± {100 * np.std(knn):.1f} % "
        f"| {np.mean(secs):.0f} |")
  lines += [
      "",
      f"Pre-training time: wall time of `train_and_evaluate` per run "
      f"(compilation included for the first seed of each setting). Whole "
      f"demo: {total_s:.0f} s on this machine. std over seeds (population).",
      "",
      "![curves](curves.png)",
      "",
      "![views](views.png)",
      "",
  ]
  return "\n".join(lines)


def main(argv=None) -> str:
  parser = argparse.ArgumentParser(prog="python -m research.demo")
  parser.add_argument("--steps", type=int, default=30)
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("--seeds", type=int, default=3)
  parser.add_argument("--eval-every", type=int, default=10)
  parser.add_argument("--features", type=int, default=64)
  parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 32])
  parser.add_argument("--out", default="results/demo")
  args = parser.parse_args(argv)

  start = time.perf_counter()
  from research import evaluate  # pylint: disable=g-import-not-at-top
  from research import train  # pylint: disable=g-import-not-at-top

  os.makedirs(args.out, exist_ok=True)
  run_root = os.path.join(args.out, "runs")
  shutil.rmtree(run_root, ignore_errors=True)  # A fresh run, never a resume.
  _views_figure(os.path.join(args.out, "views.png"), args)

  eval_data = None
  rows, runs, raw = [], {}, []
  for name, field in SETTINGS:
    probe, knn, secs = [], [], []
    runs[name] = []
    for seed in range(args.seeds):
      config = _config(field, seed, args)
      workdir = os.path.join(run_root, f"{field or 'none'}_seed{seed}")
      t0 = time.perf_counter()
      train.train_and_evaluate(config, workdir)
      secs.append(time.perf_counter() - t0)
      _, trainer, state = evaluate.load_run(workdir)
      if eval_data is None:
        eval_data = train._load_eval_data(config)  # pylint: disable=protected-access
      result = evaluate.evaluate_features(trainer, state, eval_data)
      probe.append(result["linear_probe_acc"])
      knn.append(result["knn_acc"])
      runs[name].append(workdir)
      raw.append({"setting": name, "random_field": field, "seed": seed,
                  "pretrain_s": secs[-1], **result})
      print(f"{name} seed {seed}: probe {result['linear_probe_acc']:.3f} "
            f"kNN {result['knn_acc']:.3f} ({secs[-1]:.0f} s)", flush=True)
    rows.append((name, probe, knn, secs))

  _curves_figure(os.path.join(args.out, "curves.png"), runs)
  table = _table(rows, args, time.perf_counter() - start)
  with open(os.path.join(args.out, "results.md"), "w") as f:
    f.write(table)
  with open(os.path.join(args.out, "results.json"), "w") as f:
    json.dump(raw, f, indent=2)
  print(table)
  return table


if __name__ == "__main__":
  main(sys.argv[1:])
