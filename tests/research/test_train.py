"""End-to-end tests of research.train / research.evaluate on tiny runs."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from research import data
from research import evaluate
from research import evaluation
from research import train
from research import utils
from research.configs import base
from tiny_runs import tiny_config


def fixed_batch_loss(trainer, state, batch):
  """The objective on one batch with the augmentation key of step 0."""
  state = jax.tree.map(jnp.copy, state)  # The step donates its input.
  state["step"] = jnp.zeros((), jnp.int32)
  _, metrics = trainer.train_step(state, batch)
  return float(metrics["loss"])


def run_and_check(config, workdir):
  results = train.train_and_evaluate(config, workdir)
  num_steps = config.optim.num_steps
  assert results["step"] == num_steps
  assert np.isfinite(results["loss"])
  for key in ("probe_test_acc", "knn_acc", "linear_probe_acc"):
    assert 0.0 <= results[key] <= 1.0, key
  few = results["few_label_probe_acc"]
  assert "1" in few and all(0.0 <= v <= 1.0 for v in few.values())
  records = utils.read_metrics(workdir, split="train")
  assert [r["step"] for r in records] == list(range(1, num_steps + 1))
  for key in ("loss", "learning_rate", "probe_loss"):
    assert all(np.isfinite(r[key]) for r in records), key
  assert "images_per_s" in records[-1] and "knn_acc" not in records[-1]
  evals = utils.read_metrics(workdir, split="eval")
  assert [r["step"] for r in evals] == [3, num_steps]
  assert os.path.isdir(os.path.join(workdir, "checkpoints", str(num_steps)))
  # Training lowers the loss: same batch, same augmentation, before vs after.
  _, trainer, final = evaluate.load_run(workdir)
  d = config.data
  source = data.make_source(d.dataset, batch_size=d.batch_size,
                            seed=config.seed, image_size=d.image_size,
                            data_dir=d.data_dir or None)
  batch = {k: jax.device_put(v, trainer.batch_sharding)
           for k, v in next(source.iterate(0)).items()}
  before = fixed_batch_loss(trainer, trainer.init_state(), batch)
  after = fixed_batch_loss(trainer, final, batch)
  assert after < before, (before, after)
  return results


@pytest.mark.parametrize("objective", base.OBJECTIVES)
def test_every_objective_on_digits(objective, tmp_path):
  results = run_and_check(tiny_config(objective), str(tmp_path))
  assert sorted(results["few_label_probe_acc"]) == ["1", "10", "5"]
  # Classifier objectives report their own classifier's test accuracy.
  assert ("classifier_test_acc" in results) == (objective == "cross_entropy")
  records = utils.read_metrics(str(tmp_path), split="train")
  if objective == "mochi":  # No MoCHi metric during the warm-up (3 steps).
    assert [("synthetic_sim" in r) for r in records] == [False] * 3 + [True] * 3
  if objective == "multihead":  # The spread of the temperatures is logged.
    for r in records:
      assert (1e-5 < r["tau_pos_min"] <= r["tau_pos_median"]
              <= r["tau_pos_max"] < 2.0)


@pytest.mark.parametrize("mixing", [
    "cutmix", pytest.param("mixup", marks=pytest.mark.slow),
    pytest.param("resizemix", marks=pytest.mark.slow)])
def test_cross_entropy_with_batch_mixing_on_digits(mixing, tmp_path):
  config = tiny_config("cross_entropy", augment__mixing=mixing)
  results = run_and_check(config, str(tmp_path))
  assert 0.0 <= results["classifier_test_acc"] <= 1.0


def test_simclr_on_mock_cifar10(tmp_path):
  config = tiny_config("simclr", "cifar10",
                       data__data_dir=str(tmp_path / "tfds"))
  with tfds.testing.mock_data(num_examples=64):
    run_and_check(config, str(tmp_path / "run"))


@pytest.mark.slow
def test_simclr_preset_with_random_fields(tmp_path):
  config = tiny_config("simclr", augment__preset="simclr_cifar",
                       augment__random_field="mild")
  run_and_check(config, str(tmp_path))


def _params(workdir):
  _, _, state = evaluate.load_run(workdir, devices=jax.devices()[:1])
  return jax.device_get(state["params"])


def test_eight_devices_match_one_and_resume_is_exact(tmp_path):
  assert len(jax.devices()) == 8
  config = tiny_config("simclr", optim__num_steps=4, checkpoint__every=2,
                       eval__every=0)
  eight, one, resumed = (str(tmp_path / n) for n in ("eight", "one", "resumed"))
  train.train_and_evaluate(config, eight)
  train.train_and_evaluate(config, one, devices=jax.devices()[:1])
  losses8 = [r["loss"] for r in utils.read_metrics(eight, split="train")]
  losses1 = [r["loss"] for r in utils.read_metrics(one, split="train")]
  np.testing.assert_allclose(losses8, losses1, rtol=2e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5),
               _params(eight), _params(one))

  # Killed after step 3 (last checkpoint: step 2), then the same call again.
  killed = tiny_config("simclr", optim__num_steps=4, checkpoint__every=2,
                       eval__every=0, stop_at_step=3)
  partial = train.train_and_evaluate(killed, resumed)
  assert partial["step"] == 3
  assert sorted(os.listdir(os.path.join(resumed, "checkpoints"))) == ["2"]
  train.train_and_evaluate(config, resumed)
  jax.tree.map(np.testing.assert_array_equal, _params(eight),
               _params(resumed))
  steps = [r["step"] for r in utils.read_metrics(resumed, split="train")]
  # Step 3 was redone after the restore and is logged once.
  assert steps == [1, 2, 3, 4]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  config = tiny_config("cross_entropy", optim__num_steps=6,
                       checkpoint__every=1, eval__every=0,
                       optim__base_learning_rate=1e30)
  with pytest.raises(train.TrainingDivergedError, match="loss is"):
    train.train_and_evaluate(config, str(tmp_path))
  _, _, state = evaluate.load_run(str(tmp_path))
  leaves = jax.tree.leaves(jax.device_get(state["params"]))
  assert all(np.all(np.isfinite(x)) for x in leaves)


def test_knn_and_linear_probe_on_separable_features():
  rng = np.random.default_rng(0)
  centres = rng.normal(size=(3, 8)) * 5
  labels = rng.integers(0, 3, 300)
  feats = centres[labels] + rng.normal(size=(300, 8))
  assert evaluation.knn_accuracy(feats[:200], labels[:200], feats[200:],
                            labels[200:], k=5) > 0.95
  assert evaluation.linear_probe(feats[:200], labels[:200], feats[200:],
                               labels[200:]) > 0.95
  # Shuffled labels: chance level.
  shuffled = rng.permutation(labels)
  assert evaluation.knn_accuracy(feats[:200], shuffled[:200], feats[200:],
                            shuffled[200:], k=5) < 0.6
