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
from research import train
from research import utils
from research.configs import base


def tiny_config(objective="simclr", dataset="digits", **overrides):
  c = base.get_config(objective=objective, dataset=dataset)
  c.update(dict(
      image_size=16, crop_size=16, batch_size=16, encoder="small_cnn",
      num_features=16, head_hidden=32, head_out=16, num_steps=6,
      warmup_steps=1, log_every=1, eval_every=3, checkpoint_every=3,
      progress_bar=False, eval_batch_size=512, eval_max_examples=0,
      mochi_num_hardest=8, mochi_num_mix=4, mochi_num_mix_query=2,
      multihead_num_heads=2,
      # The SimCLR preset costs minutes of XLA compilation on 2 CPU cores per
      # objective; the machinery is tested with a flip (see the slow test).
      augment="flip"))
  # Large steps so that six steps measurably lower the loss.
  c.base_learning_rate = 8.0 if c.optimizer == "lars" else 1.0
  c.update(overrides)
  return c


def fixed_batch_loss(trainer, state, batch):
  """The objective on one batch with the augmentation key of step 0."""
  state = jax.tree.map(jnp.copy, state)  # The step donates its input.
  state["step"] = jnp.zeros((), jnp.int32)
  _, metrics = trainer.train_step(state, batch)
  return float(metrics["loss"])


def run_and_check(config, workdir):
  results = train.train_and_evaluate(config, workdir)
  assert results["step"] == config.num_steps
  assert np.isfinite(results["loss"])
  assert 0.0 <= results["probe_test_acc"] <= 1.0
  assert 0.0 <= results["knn_acc"] <= 1.0
  records = utils.read_metrics(workdir, split="train")
  assert [r["step"] for r in records] == list(range(1, config.num_steps + 1))
  for key in ("loss", "learning_rate", "probe_loss"):
    assert all(np.isfinite(r[key]) for r in records), key
  assert "images_per_s" in records[-1] and "knn_acc" not in records[-1]
  evals = utils.read_metrics(workdir, split="eval")
  assert [r["step"] for r in evals] == [3, config.num_steps]
  assert os.path.isdir(os.path.join(workdir, "checkpoints",
                                    str(config.num_steps)))
  # Training lowers the loss: same batch, same augmentation, before vs after.
  _, trainer, final = evaluate.load_run(workdir)
  source = data.make_source(config.dataset, batch_size=config.batch_size,
                            seed=config.seed, image_size=config.image_size,
                            data_dir=config.data_dir or None)
  batch = {k: jax.device_put(v, trainer.batch_sharding)
           for k, v in next(source.iterate(0)).items()}
  before = fixed_batch_loss(trainer, trainer.init_state(), batch)
  after = fixed_batch_loss(trainer, final, batch)
  assert after < before, (before, after)
  return results


@pytest.mark.parametrize("objective", base.OBJECTIVES)
def test_every_objective_on_digits(objective, tmp_path):
  overrides = {}
  if objective == "multihead":
    # Its loss sits near 0 (the temperature regularisers cancel) and its
    # hardest-negative max is non-smooth: LARS at 8.0 overshoots in six steps.
    overrides["base_learning_rate"] = 0.3
  run_and_check(tiny_config(objective, **overrides), str(tmp_path))


def test_simclr_on_mock_cifar10(tmp_path):
  config = tiny_config("simclr", "cifar10", data_dir=str(tmp_path / "tfds"))
  with tfds.testing.mock_data(num_examples=64):
    run_and_check(config, str(tmp_path / "run"))


@pytest.mark.slow
def test_simclr_preset_with_random_fields(tmp_path):
  config = tiny_config("simclr", augment="simclr_cifar", random_field="mild")
  run_and_check(config, str(tmp_path))


def _params(workdir):
  _, _, state = evaluate.load_run(workdir, devices=jax.devices()[:1])
  return jax.device_get(state["params"])


def test_eight_devices_match_one_and_resume_is_exact(tmp_path):
  assert len(jax.devices()) == 8
  config = tiny_config("simclr", num_steps=4, checkpoint_every=2,
                       eval_every=0)
  eight, one, resumed = (str(tmp_path / n) for n in ("eight", "one", "resumed"))
  train.train_and_evaluate(config, eight)
  train.train_and_evaluate(config, one, devices=jax.devices()[:1])
  losses8 = [r["loss"] for r in utils.read_metrics(eight, split="train")]
  losses1 = [r["loss"] for r in utils.read_metrics(one, split="train")]
  np.testing.assert_allclose(losses8, losses1, rtol=2e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5),
               _params(eight), _params(one))

  # Killed after step 3 (last checkpoint: step 2), then the same call again.
  killed = tiny_config("simclr", num_steps=4, checkpoint_every=2,
                       eval_every=0, stop_at_step=3)
  partial = train.train_and_evaluate(killed, resumed)
  assert partial["step"] == 3
  assert sorted(os.listdir(os.path.join(resumed, "checkpoints"))) == ["2"]
  train.train_and_evaluate(config, resumed)
  jax.tree.map(np.testing.assert_array_equal, _params(eight),
               _params(resumed))
  steps = [r["step"] for r in utils.read_metrics(resumed, split="train")]
  assert steps == [1, 2, 3, 3, 4]  # Step 3 was redone after the restore.


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  config = tiny_config("cross_entropy", num_steps=6, checkpoint_every=1,
                       eval_every=0, base_learning_rate=1e30)
  with pytest.raises(train.TrainingDivergedError, match="loss is"):
    train.train_and_evaluate(config, str(tmp_path))
  _, _, state = evaluate.load_run(str(tmp_path))
  leaves = jax.tree.leaves(jax.device_get(state["params"]))
  assert all(np.all(np.isfinite(x)) for x in leaves)


def test_unknown_config_field_is_rejected_by_name(tmp_path):
  config = base.get_config()
  with pytest.raises(ValueError, match="batch_szie"):
    utils.apply_overrides(config, ["batch_szie=64"])
  config.learnig_rate = 0.1
  with pytest.raises(ValueError, match="learnig_rate"):
    train.train_and_evaluate(config, str(tmp_path))
  path = os.path.join(os.path.dirname(base.__file__), "simclr_digits.py")
  with pytest.raises(ValueError, match="num_stepz"):
    train._parse(["--config", path, "--workdir", str(tmp_path),
                  "--config.num_stepz=3"])
  config, workdir = train._parse([
      "--config", path + ":mild", "--workdir", str(tmp_path),
      "--config.batch_size=64", "--config.base_learning_rate=1"])
  assert (config.batch_size, config.random_field) == (64, "mild")
  assert config.base_learning_rate == 1.0 and workdir == str(tmp_path)


def test_knn_and_linear_probe_on_separable_features():
  rng = np.random.default_rng(0)
  centres = rng.normal(size=(3, 8)) * 5
  labels = rng.integers(0, 3, 300)
  feats = centres[labels] + rng.normal(size=(300, 8))
  assert train.knn_accuracy(feats[:200], labels[:200], feats[200:],
                            labels[200:], k=5) > 0.95
  assert evaluate.linear_probe(feats[:200], labels[:200], feats[200:],
                               labels[200:]) > 0.95
  # Shuffled labels: chance level.
  shuffled = rng.permutation(labels)
  assert train.knn_accuracy(feats[:200], shuffled[:200], feats[200:],
                            shuffled[200:], k=5) < 0.6
