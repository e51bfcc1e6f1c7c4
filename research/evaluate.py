"""Offline linear evaluation of a pre-trained encoder.

Features of the un-augmented training (probe) split and the test split are
extracted once with the encoder in `eval()` mode; a multinomial logistic
regression (scikit-learn, L-BFGS, on standardised features) is fitted on the
training features and scored on the test features.

  python -m research.evaluate --workdir /tmp/simclr_digits

reads `workdir/config.json` and the latest checkpoint in `workdir/checkpoints`
and prints `{"linear_probe_acc": ..., "knn_acc": ...}`.
"""

from __future__ import annotations

import argparse
import json
import os

import jax
import ml_collections
import numpy as np

from research import train as train_lib


def linear_probe(train_feats: np.ndarray, train_labels: np.ndarray,
                 test_feats: np.ndarray, test_labels: np.ndarray, *,
                 l2: float = 1e-3, max_iter: int = 1000) -> float:
  """Test accuracy of an L2-regularised logistic regression on features.

  Args:
    train_feats: (N, D) float features.
    train_labels: (N,) ints.
    test_feats: (M, D) float features.
    test_labels: (M,) ints.
    l2: L2 penalty per example (sklearn's `C = 1 / (l2 * N)`).
    max_iter: L-BFGS iterations.

  Returns:
    Accuracy in [0, 1].

  Example:
    >>> x = np.array([[0.0], [1.0], [0.1], [0.9]])
    >>> linear_probe(x, np.array([0, 1, 0, 1]), x, np.array([0, 1, 0, 1]))
    1.0
  """
  from sklearn.linear_model import LogisticRegression  # pylint: disable=g-import-not-at-top
  from sklearn.preprocessing import StandardScaler  # pylint: disable=g-import-not-at-top

  scaler = StandardScaler().fit(train_feats)
  clf = LogisticRegression(C=1.0 / (l2 * len(train_feats)), max_iter=max_iter)
  clf.fit(scaler.transform(train_feats), train_labels)
  return float(clf.score(scaler.transform(test_feats), test_labels))


def load_run(workdir: str, *, devices=None):
  """The config, trainer and restored TrainState of a finished (or partial) run.

  Raises:
    FileNotFoundError: no config.json or no checkpoint in `workdir`.
  """
  path = os.path.join(workdir, "config.json")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path} not found: is {workdir!r} a workdir of "
                            f"research.train?")
  with open(path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  trainer = train_lib.Trainer(config, devices=devices)
  manager = train_lib._checkpoint_manager(workdir, config)  # pylint: disable=protected-access
  state = train_lib.restore_latest(manager, trainer.init_state())
  manager.close()
  if state is None:
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  return config, trainer, state


def evaluate_features(trainer, state, eval_data, *, knn_k: int = 20,
                      knn_temperature: float = 0.07) -> dict[str, float]:
  """Linear-probe and kNN accuracy of the encoder of `state`.

  Args:
    trainer: a `research.train.Trainer` of the run's config.
    state: its TrainState.
    eval_data: `((train_images, train_labels), (test_images, test_labels))`,
      uint8 images.
    knn_k, knn_temperature: kNN settings.

  Returns:
    `{"linear_probe_acc", "knn_acc"}`, accuracies in [0, 1].
  """
  (train_x, train_y), (test_x, test_y) = eval_data
  train_f, _ = trainer.features(state, train_x)
  test_f, _ = trainer.features(state, test_x)
  return {
      "linear_probe_acc": linear_probe(train_f, train_y, test_f, test_y),
      "knn_acc": train_lib.knn_accuracy(train_f, train_y, test_f, test_y,
                                        k=knn_k, temperature=knn_temperature,
                                        num_classes=trainer.num_classes),
  }


def evaluate_workdir(workdir: str) -> dict[str, float]:
  """Offline evaluation of the latest checkpoint of a run directory."""
  config, trainer, state = load_run(workdir)
  eval_data = train_lib._load_eval_data(config)  # pylint: disable=protected-access
  results = evaluate_features(trainer, state, eval_data, knn_k=config.knn_k,
                              knn_temperature=config.knn_temperature)
  results["step"] = int(jax.device_get(state["step"]))
  return results


def main(argv=None):
  parser = argparse.ArgumentParser(prog="python -m research.evaluate")
  parser.add_argument("--workdir", required=True)
  args = parser.parse_args(argv)
  results = evaluate_workdir(args.workdir)
  print(json.dumps(results, indent=2))
  with open(os.path.join(args.workdir, "linear_eval.json"), "w") as f:
    json.dump(results, f, indent=2)
  return results


if __name__ == "__main__":
  main()
