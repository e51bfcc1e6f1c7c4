"""Evaluation of frozen features: few-label and full linear probes, kNN.

All protocols use features of un-augmented images (encoder in `eval()` mode,
centre crop) of the dataset's probe-training split, scored on its test split;
nothing here selects a model or a hyper-parameter on the test split.

* Linear probe (`linear_probe`): multinomial logistic regression
  (scikit-learn, L-BFGS) on standardised features of every labelled training
  image, as in SimCLR's linear evaluation (Chen et al. 2020, sec. 4).
* Few-label probe (`few_label_probe`): the same classifier fitted on k
  labelled images per class, for k in `eval.few_label_shots`, averaged over
  `eval.few_label_draws` fixed draws of the labelled images (semi-supervised
  evaluation with 1% / 10% of the labels in SimCLR, sec. 4.2; here a fixed
  number per class because the datasets are small). Draw `d` of k shots
  depends only on the labels and (k, d), so every model is scored on the same
  labelled images. Features are standardised with the statistics of all
  training features (no labels used) and the classifier uses scikit-learn's
  default C = 1 (not tuned).
* kNN (`knn_accuracy`): weighted k-nearest neighbours with cosine similarity
  (Wu et al. 2018), k = `eval.knn_k`, weights exp(sim / `knn_temperature`).
"""

from __future__ import annotations

from typing import Any, Sequence
import warnings

import ml_collections
import numpy as np

from research import data as data_lib


def _standardise(train: np.ndarray, *others: np.ndarray):
  from sklearn.preprocessing import StandardScaler  # pylint: disable=g-import-not-at-top
  scaler = StandardScaler().fit(np.asarray(train, np.float64))
  return [scaler.transform(np.asarray(x, np.float64)) for x in (train, *others)]


def _logistic_regression(x, y, c: float, max_iter: int):
  from sklearn.linear_model import LogisticRegression  # pylint: disable=g-import-not-at-top
  return LogisticRegression(C=c, max_iter=max_iter).fit(x, y)


def linear_probe(train_feats: np.ndarray, train_labels: np.ndarray,
                 test_feats: np.ndarray, test_labels: np.ndarray, *,
                 l2: float = 1e-3, max_iter: int = 1000) -> float:
  """Test accuracy of an L2-regularised logistic regression on features.

  Args:
    train_feats: `(N, D)` float features.
    train_labels: `(N,)` ints.
    test_feats: `(M, D)` float features.
    test_labels: `(M,)` ints.
    l2: L2 penalty per example (scikit-learn's `C = 1 / (l2 * N)`).
    max_iter: L-BFGS iterations.

  Returns:
    Accuracy in [0, 1].

  Example:
    >>> x = np.array([[0.0], [1.0], [0.1], [0.9]])
    >>> linear_probe(x, np.array([0, 1, 0, 1]), x, np.array([0, 1, 0, 1]))
    1.0
  """
  train, test = _standardise(train_feats, test_feats)
  clf = _logistic_regression(train, train_labels, 1.0 / (l2 * len(train)),
                             max_iter)
  return float(clf.score(test, test_labels))


def draw_few_labels(labels: np.ndarray, shots: int, draw: int) -> np.ndarray:
  """Indices of `shots` examples per class: draw number `draw`.

  Deterministic in `(labels, shots, draw)`.

  Raises:
    ValueError: a class has fewer than `shots` examples.

  Example:
    >>> draw_few_labels(np.array([0, 1, 0, 1, 0, 1]), 2, 0).shape
    (4,)
  """
  labels = np.asarray(labels)
  rng = np.random.default_rng((shots, draw))
  picks = []
  for c in np.unique(labels):
    members = np.flatnonzero(labels == c)
    if len(members) < shots:
      raise ValueError(f"class {c} has {len(members)} examples, fewer than "
                       f"{shots} shots")
    picks.append(rng.choice(members, shots, replace=False))
  return np.sort(np.concatenate(picks))


def few_label_probe(train_feats: np.ndarray, train_labels: np.ndarray,
                    test_feats: np.ndarray, test_labels: np.ndarray, *,
                    shots: Sequence[int] = (1, 5, 10), draws: int = 5,
                    max_iter: int = 1000) -> dict[str, float]:
  """Mean test accuracy of probes fitted on k labelled examples per class.

  Args:
    train_feats: `(N, D)` features of the labelled pool (all are used for the
      standardisation; only the drawn ones for fitting).
    train_labels: `(N,)` ints.
    test_feats, test_labels: `(M, D)`, `(M,)`.
    shots: labels per class (k).
    draws: fixed draws averaged per k.
    max_iter: L-BFGS iterations.

  Returns:
    `{str(k): accuracy}`, accuracies in [0, 1] averaged over the draws
    (a k larger than the smallest class is skipped with a warning).
  """
  train, test = _standardise(train_feats, test_feats)
  smallest = int(np.min(np.unique(np.asarray(train_labels),
                                  return_counts=True)[1]))
  out = {}
  for k in shots:
    if k > smallest:
      warnings.warn(f"few-label probe with {k} labels per class skipped: a "
                    f"class has only {smallest} labelled examples")
      continue
    accs = []
    for d in range(draws):
      idx = draw_few_labels(train_labels, int(k), d)
      clf = _logistic_regression(train[idx], np.asarray(train_labels)[idx],
                                 1.0, max_iter)
      accs.append(clf.score(test, test_labels))
    out[str(int(k))] = float(np.mean(accs))
  return out


def knn_accuracy(train_feats: np.ndarray, train_labels: np.ndarray,
                 test_feats: np.ndarray, test_labels: np.ndarray, *,
                 k: int = 20, temperature: float = 0.07,
                 num_classes: int | None = None) -> float:
  """Weighted kNN accuracy with cosine similarity (Wu et al. 2018).

  Each test point votes over its k most similar training points with weights
  `exp(sim / temperature)`.

  Args:
    train_feats: `(N, D)` float features.
    train_labels: `(N,)` ints.
    test_feats: `(M, D)` float features.
    test_labels: `(M,)` ints.
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


def evaluate_arrays(train_feats, train_labels, test_feats, test_labels,
                    eval_config: ml_collections.ConfigDict, *,
                    linear: bool = True) -> dict[str, Any]:
  """kNN, few-label probes and (if `linear`) the full linear probe.

  Returns:
    `{"knn_acc", "few_label_probe_acc": {k: acc}, "linear_probe_acc"}`.
  """
  out: dict[str, Any] = {
      "knn_acc": knn_accuracy(train_feats, train_labels, test_feats,
                              test_labels, k=eval_config.knn_k,
                              temperature=eval_config.knn_temperature),
      "few_label_probe_acc": few_label_probe(
          train_feats, train_labels, test_feats, test_labels,
          shots=tuple(eval_config.few_label_shots),
          draws=eval_config.few_label_draws),
  }
  if linear:
    out["linear_probe_acc"] = linear_probe(train_feats, train_labels,
                                           test_feats, test_labels)
  return out


def load_eval_data(config: ml_collections.ConfigDict):
  """`((train_images, train_labels), (test_images, test_labels))`, uint8.

  The dataset's probe-training and test splits, centre-cropped to
  `data.image_size`, capped at `eval.max_examples` (0: all).

  Raises:
    research.data.DatasetError: missing or unreadable dataset.
  """
  kwargs = dict(image_size=config.data.image_size,
                data_dir=config.data.data_dir or None,
                max_examples=config.eval.max_examples or None,
                num_workers=config.data.num_workers)
  name = config.data.dataset
  return (data_lib.load_eval_arrays(name, "probe_train", **kwargs),
          data_lib.load_eval_arrays(name, "test", **kwargs))


def evaluate(trainer, state, eval_data, *, linear: bool = True
             ) -> dict[str, Any]:
  """Every evaluation of a trained state on un-augmented images.

  Args:
    trainer: the run's `research.trainer.Trainer`.
    state: its TrainState.
    eval_data: from `load_eval_data`.
    linear: also fit the full-label linear probe (the slowest part on large
      datasets; the training loop does it at the end only).

  Returns:
    `knn_acc`, `few_label_probe_acc` (`{k: acc}`), `probe_test_acc` (the
    online probe trained during the run), `linear_probe_acc` (if `linear`)
    and, for classifier objectives, `classifier_test_acc` (the head's own
    test accuracy). Accuracies in [0, 1].
  """
  (train_x, train_y), (test_x, test_y) = eval_data
  train = trainer.features(state, train_x)
  test = trainer.features(state, test_x)
  out = evaluate_arrays(train["features"], train_y, test["features"], test_y,
                        trainer.config.eval, linear=linear)
  out["probe_test_acc"] = float(np.mean(test["probe"].argmax(1) == test_y))
  if test["classifier"].shape[1]:
    out["classifier_test_acc"] = float(
        np.mean(test["classifier"].argmax(1) == test_y))
  return out
