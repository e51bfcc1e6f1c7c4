"""Notebook source (percent format); build with colabs/build_notebooks.py."""

# %% [markdown]
# # 03 · SimCLR with and without random fields
#
# A short SimCLR pre-training on the embedded digits (scikit-learn's 8×8
# handwritten digits, upsampled to 32×32 RGB: no download), once with the plain
# SimCLR augmentations and once with random field augmentations added on top,
# then a linear probe and a kNN classifier on the frozen features.
#
# Everything goes through the research code:
# `research.train.train_and_evaluate(config, workdir)` with a config from
# `research/configs/experiment.py`, the same entry point as
# `python -m research.train --config=research/configs/experiment.py:simclr,digits,mild`.
#
# With the small default settings this is a smoke run of a few dozen steps, so
# the numbers it prints say little; set `FULL = True` (a GPU helps) for the
# full 300-step schedule with three seeds and the strong setting as well. The
# paper reports that *mild* fields help and *strong* ones hurt.

# %%
# Colab only: install jaxaug (does nothing when run locally or in CI).
import sys

if "google.colab" in sys.modules:
  import subprocess
  subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                  "{PIP_SPEC}"], check=True)

# The research code runs from a checkout of the repository (it is not part of
# the installed package): put the checkout on the path.
import pathlib

REPO = (pathlib.Path("/content/jaxaug") if "google.colab" in sys.modules
        else pathlib.Path.cwd().parent)
sys.path.insert(0, str(REPO))

# %%
# Knob: small settings are a smoke run of a few minutes on a CPU; FULL = True
# runs the default digits config (the `make demo` recipe: 16x16, 500 steps,
# batch 128) for every setting and seed.
FULL = False
SETTINGS = ["", "mild", "strong"] if FULL else ["", "mild"]  # "" = SimCLR only
SEEDS = [0, 1, 2] if FULL else [0]
NUM_STEPS = 500 if FULL else 20
BATCH_SIZE = 128 if FULL else 64

# %%
import json
import os
import tempfile

from IPython.display import Markdown, display
import jax
import matplotlib.pyplot as plt
import numpy as np

from research import evaluate as evaluate_lib
from research import evaluation
from research import train as train_lib
from research.configs import experiment

# On a CPU the (fake) devices share the same cores: train on one. On GPUs and
# TPUs use them all (data parallel, as `python -m research.train` does).
DEVICES = jax.devices()[:1] if jax.default_backend() == "cpu" else jax.devices()
print("training on", len(DEVICES), DEVICES[0].platform, "device(s)")


def make_config(random_field, seed):
  config = experiment.get_config(
      "simclr,digits" + (f",{random_field}" if random_field else ""))
  config.seed = seed
  config.optim.num_steps = NUM_STEPS
  config.data.batch_size = BATCH_SIZE
  if not FULL:  # A smoke run: a short schedule, few evaluations.
    config.optim.warmup_steps = NUM_STEPS // 5
    config.eval.every = NUM_STEPS // 2
    config.log_every = 2
    config.checkpoint.every = NUM_STEPS
  config.progress_bar = False
  return config


def linear_eval(workdir):
  """Offline evaluation of a finished run, as research.evaluate does:
  probes on frozen features of the un-augmented digits."""
  config, trainer, state = evaluate_lib.load_run(workdir, devices=DEVICES)
  return evaluation.evaluate(trainer, state,
                             evaluation.load_eval_data(config))


def label(random_field):
  return f"random fields: {random_field}" if random_field else "SimCLR only"

# %% [markdown]
# ## Pre-training
#
# Each config's augmentation is `research.augment.make_augment(config.augment)`:
# `jaxaug.presets.simclr_cifar(16, strength=0.5)`, plus `random_field=` when set
# (notebooks 01 and 02 show what these do to images). One run per setting and
# seed, each in a fresh work directory (a rerun in the
# same directory would resume from its checkpoint). Metrics are written as JSON
# lines to `workdir/metrics.jsonl`.

# %%
root = tempfile.mkdtemp(prefix="simclr_digits_")
results, histories = {}, {}
for random_field in SETTINGS:
  for seed in SEEDS:
    workdir = os.path.join(root, f"{random_field or 'none'}_seed{seed}")
    final = train_lib.train_and_evaluate(make_config(random_field, seed),
                                         workdir, devices=DEVICES)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      histories[random_field, seed] = [json.loads(line) for line in f]
    offline = linear_eval(workdir)
    final["linear_eval_acc"] = offline["linear_probe_acc"]
    final["five_label_acc"] = offline["few_label_probe_acc"]["5"]
    results[random_field, seed] = final
    print(f"{label(random_field):>22}, seed {seed}: "
          f"5-label probe {final['five_label_acc']:.3f}, "
          f"linear eval {final['linear_eval_acc']:.3f}, "
          f"kNN {final['knn_acc']:.3f}, "
          f"{final['images_per_s']:.0f} images/s")

# %% [markdown]
# ## Curves

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 2.8))
# The online probe trains alongside pre-training: it needs the FULL schedule.
colors = {"": "tab:blue", "mild": "tab:green", "medium": "tab:orange",
          "strong": "tab:red"}
for (random_field, seed), history in histories.items():
  train = [h for h in history if h["split"] == "train"]
  evals = [h for h in history if h["split"] == "eval"]
  kw = dict(color=colors[random_field],
            label=label(random_field) if seed == SEEDS[0] else None)
  axes[0].plot([h["step"] for h in train], [h["loss"] for h in train], **kw)
  axes[1].plot([h["step"] for h in evals],
               [h["probe_test_acc"] for h in evals], "o-", **kw)
  axes[2].plot([h["step"] for h in evals], [h["knn_acc"] for h in evals],
               "o-", **kw)
for ax, title in zip(axes, ["NT-Xent loss", "online linear probe accuracy",
                            "kNN test accuracy"]):
  ax.set_title(title, fontsize=9)
  ax.set_xlabel("step")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Results
#
# Test accuracy on the 297 held-out digits, on frozen features of un-augmented
# images: the 5-label probe (logistic regression fitted on 5 labelled digits
# per class, averaged over fixed draws: where representation quality shows on
# the digits, see `make demo`), the linear evaluation (logistic regression
# fitted on all 1,500 labelled digits, with the features of
# the saved encoder, `research.evaluate`; also `python -m research.evaluate
# --workdir <workdir>`), the online linear probe (trained on `stop_gradient`
# features alongside pre-training, so it lags in short runs) and a weighted kNN
# classifier (k = 20, cosine). Mean ± standard deviation over seeds.

# %%
def summary(metric, random_field):
  values = np.array([results[random_field, s][metric] for s in SEEDS])
  if len(values) == 1:
    return f"{100 * values[0]:.1f}"
  return f"{100 * values.mean():.1f} ± {100 * values.std(ddof=1):.1f}"


table = ["| augmentations | 5-label probe (%) | linear eval (%) "
         "| online probe (%) | kNN (%) | final loss |",
         "|---|---|---|---|---|---|"]
for random_field in SETTINGS:
  loss = np.mean([results[random_field, s]["loss"] for s in SEEDS])
  table.append(f"| {label(random_field)} | "
               f"{summary('five_label_acc', random_field)} | "
               f"{summary('linear_eval_acc', random_field)} | "
               f"{summary('probe_test_acc', random_field)} | "
               f"{summary('knn_acc', random_field)} | {loss:.3f} |")
display(Markdown("\n".join(table)))

fig, ax = plt.subplots(figsize=(5, 2.4))
x = np.arange(len(SETTINGS))
for i, metric in enumerate(["five_label_acc", "linear_eval_acc"]):
  means = [np.mean([results[rf, s][metric] for s in SEEDS]) for rf in SETTINGS]
  ax.bar(x + 0.38 * i, means, width=0.36,
         label=["5-label probe", "linear eval"][i])
ax.set_xticks(x + 0.19, [label(rf) for rf in SETTINGS], fontsize=8)
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Next
#
# * Same experiment from the command line:
#   `python -m research.train --config=research/configs/experiment.py:simclr,digits,mild
#   --workdir=/tmp/simclr_mild`, or `make demo`.
# * CIFAR-10 / ImageNet: `experiment.py:simclr,cifar10` and
#   `experiment.py:simclr,imagenet2012` (tensorflow-datasets,
#   `--config.data.data_dir=...`).
# * Other objectives with the same augmentations: `mochi`, `multihead`,
#   `supcon`, `cross_entropy` in place of `simclr`.
