"""Training faults (issue 9, item 4): kills, broken checkpoints, NaN, bad disk.

The kill test runs the real CLI (`research.train.main`) in a subprocess and
SIGKILLs it while orbax is in the middle of writing a checkpoint (after the
first one is complete), then reruns the same command to completion. Two
processes only: each pays for importing JAX and compiling the step.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from research import checkpointing
from research import evaluate
from research import train
from research import trainer as trainer_lib
from research import utils
from research.configs import check

import tiny_runs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIG_FILE = os.path.join(REPO, "research", "configs",
                           "experiment.py") + ":simclr,digits"
NUM_STEPS = tiny_runs.CLI_NUM_STEPS
OVERRIDES = tiny_runs.CLI_OVERRIDES
WRAPPER = tiny_runs.CLI_WRAPPER
_config = tiny_runs.cli_config


def _params(workdir):
  _, _, state = evaluate.load_run(workdir, devices=jax.devices()[:1])
  return jax.device_get(state["params"])


def _finished_steps(workdir):
  names = os.listdir(os.path.join(workdir, "checkpoints"))
  return sorted(int(n) for n in names if n.isdigit())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """An uninterrupted run on one device: its workdir and final params."""
  workdir = str(tmp_path_factory.mktemp("uninterrupted"))
  train.train_and_evaluate(_config(), workdir, devices=jax.devices()[:1])
  assert _finished_steps(workdir) == list(range(1, NUM_STEPS + 1))
  return workdir, _params(workdir)


class _Run:
  """One CLI process; `wait_for(pattern)` reads its stdout up to a line."""

  def __init__(self, workdir, **env):
    full_env = dict(os.environ)
    full_env.update(env)
    # One CPU device, like the reference run (not the 8 fake test devices).
    flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "",
                   full_env.pop("XLA_FLAGS", "")).strip()
    if flags:
      full_env["XLA_FLAGS"] = flags
    full_env["PYTHONPATH"] = REPO
    args = [sys.executable, "-u", "-c", WRAPPER, f"--config={CONFIG_FILE}",
            f"--workdir={workdir}"] + [f"--config.{o}" for o in OVERRIDES]
    self.proc = subprocess.Popen(args, cwd=REPO, env=full_env,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
    self.lines = []

  def wait_for(self, line):
    for out in self.proc.stdout:
      self.lines.append(out.rstrip("\n"))
      if self.lines[-1] == line:
        return
    raise AssertionError(f"process ended (rc {self.proc.wait()}) before "
                         f"{line!r}:\n" + "\n".join(self.lines[-30:]))

  def kill(self):
    self.proc.send_signal(signal.SIGKILL)
    assert self.proc.wait() == -signal.SIGKILL
    self.proc.stdout.close()

  def finish(self):
    out, _ = self.proc.communicate(timeout=300)
    self.lines += out.splitlines()
    assert self.proc.returncode == 0, "\n".join(self.lines[-30:])


def test_killed_runs_resume_to_the_uninterrupted_parameters(reference,
                                                            tmp_path):
  _, want = reference
  workdir = str(tmp_path / "killed")

  # 1. Killed while checkpoint 2 is being written (step 1 is complete).
  run = _Run(workdir, HANG_IN_SAVE_STEP="2")
  run.wait_for("COMMIT 2")
  time.sleep(0.2)  # The save is hanging; make sure nothing else moves.
  run.kill()
  names = os.listdir(os.path.join(workdir, "checkpoints"))
  assert _finished_steps(workdir) == [1]
  partial = [n for n in names if n.startswith("2.orbax-checkpoint-tmp")]
  assert partial, names  # The half-written step 2 is on disk ...
  assert os.listdir(os.path.join(workdir, "checkpoints", partial[0]))

  # 2. The same command resumes from step 1 (the half-written step 2 is
  # never loaded) and runs to the end.
  run = _Run(workdir)
  run.finish()
  assert _finished_steps(workdir) == list(range(1, NUM_STEPS + 1))
  names = os.listdir(os.path.join(workdir, "checkpoints"))
  assert not [n for n in names if "tmp" in n], names  # Leftovers cleaned.
  got = _params(workdir)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=0,
                                                       atol=1e-6), got, want)
  records = utils.read_metrics(workdir, split="train")
  assert records[-1]["step"] == NUM_STEPS


def test_corrupt_latest_checkpoint_falls_back_to_previous(reference,
                                                          tmp_path):
  src, want = reference
  workdir = str(tmp_path / "corrupt")
  shutil.copytree(src, workdir)
  ckpt = os.path.join(workdir, "checkpoints")
  # Truncate every file of the latest step (a disk that lost its tail) ...
  for root, _, files in os.walk(os.path.join(ckpt, str(NUM_STEPS))):
    for name in files:
      with open(os.path.join(root, name), "r+b") as f:
        f.truncate(max(0, os.path.getsize(f.name) // 3))
  # ... and leave an unfinished save of a later step, full of garbage.
  fake = os.path.join(ckpt, f"{NUM_STEPS + 1}.orbax-checkpoint-tmp-123")
  os.makedirs(os.path.join(fake, "default"))
  with open(os.path.join(fake, "default", "_METADATA"), "w") as f:
    f.write("{not json")

  config = _config()
  with pytest.warns(RuntimeWarning, match=rf"step {NUM_STEPS}.*cannot be "
                    rf"read") as record:
    results = train.train_and_evaluate(config, workdir,
                                       devices=jax.devices()[:1])
  assert any(f"resuming from checkpoint step {NUM_STEPS - 1}" in
             str(w.message) for w in record)
  assert results["step"] == NUM_STEPS
  # The bad step was moved aside, redone from step 5, and ends where the
  # uninterrupted run ended.
  assert os.listdir(ckpt + "_corrupt") == [str(NUM_STEPS)]
  assert _finished_steps(workdir) == list(range(1, NUM_STEPS + 1))
  assert not os.path.exists(fake)
  jax.tree.map(np.testing.assert_array_equal, _params(workdir), want)

  # Nothing readable at all: a clear error, not a silent restart from 0.
  for step in _finished_steps(workdir):
    for root, _, files in os.walk(os.path.join(ckpt, str(step))):
      for name in files:
        open(os.path.join(root, name), "w").close()
  with pytest.raises(RuntimeError, match="no checkpoint .* can be read"):
    with pytest.warns(RuntimeWarning):
      train.train_and_evaluate(config, workdir, devices=jax.devices()[:1])


def test_nan_batch_stops_and_keeps_last_good_checkpoint(reference, tmp_path,
                                                        monkeypatch):
  # The third batch poisons the step: NaN loss and NaN parameters, as a
  # corrupt input would give. (The compiled step is the reference run's.)
  class PoisonedTrainer(trainer_lib.Trainer):

    def __init__(self, *args, **kwargs):
      super().__init__(*args, **kwargs)
      step_fn = self.train_step

      def poisoned(state, batch):
        poison = int(jax.device_get(state["step"])) == 2
        state, metrics = step_fn(state, batch)
        if poison:
          state["params"] = jax.tree.map(lambda x: x * jnp.nan,
                                         state["params"])
          metrics = dict(metrics, loss=jnp.float32(jnp.nan))
        return state, metrics

      self.train_step = poisoned

  monkeypatch.setattr(train, "Trainer", PoisonedTrainer)
  workdir = str(tmp_path)
  with pytest.raises(train.TrainingDivergedError,
                     match=r"loss is nan at step 3.*checkpoint \(step 2\)"):
    train.train_and_evaluate(_config(), workdir, devices=jax.devices()[:1])
  monkeypatch.undo()
  assert _finished_steps(workdir) == [1, 2]
  _, _, state = evaluate.load_run(workdir, devices=jax.devices()[:1])
  assert int(state["step"]) == 2
  leaves = jax.tree.leaves(jax.device_get(state["params"]))
  assert all(np.all(np.isfinite(x)) for x in leaves)
  steps = [r["step"] for r in utils.read_metrics(workdir, split="train")]
  assert steps == [1, 2]  # The NaN step was not logged as a good one.


def _no_training(monkeypatch):
  def fail(*args, **kwargs):
    raise AssertionError("training started")
  monkeypatch.setattr(train, "Trainer", fail)
  monkeypatch.setattr(train.data_lib, "make_source", fail)
  monkeypatch.setattr(train.evaluation, "load_eval_data", fail)


def test_unwritable_workdir_fails_before_training(tmp_path, monkeypatch):
  # Tests run as root, which ignores chmod: use a path below a regular file,
  # which nobody can create.
  blocker = tmp_path / "file.txt"
  blocker.write_text("not a directory")
  workdir = str(blocker / "run")
  _no_training(monkeypatch)
  with pytest.raises(checkpointing.WorkdirError, match=re.escape(workdir)) as info:
    train.train_and_evaluate(_config(), workdir)
  assert "not writable" in str(info.value)
  assert isinstance(info.value, OSError)


def test_full_disk_fails_before_training(tmp_path, monkeypatch):
  workdir = str(tmp_path / "run")
  usage = shutil.disk_usage(str(tmp_path))
  config = _config()
  # 1 MiB free: less than the 16 MiB log allowance alone.
  monkeypatch.setattr(shutil, "disk_usage",
                      lambda path: usage._replace(free=1 << 20))
  with pytest.raises(checkpointing.WorkdirError,
                     match=r"not enough free disk space in workdir "
                     + re.escape(repr(workdir))):
    train.train_and_evaluate(config, workdir, devices=jax.devices()[:1])
  assert not os.path.exists(os.path.join(workdir, "checkpoints"))
  assert not os.path.exists(os.path.join(workdir, "metrics.jsonl"))


def test_free_space_estimate_scales_with_kept_checkpoints():
  trainer_state = {"w": np.zeros((1024, 256), np.float32),
                   "s": np.zeros((), np.int32)}
  assert checkpointing.checkpoint_bytes(trainer_state) == 1024 * 256 * 4 + 4
  need2 = checkpointing.check_free_space("/", trainer_state, 2)
  need5 = checkpointing.check_free_space("/", trainer_state, 5)
  assert need5 - need2 == int(
      checkpointing.checkpoint_bytes(trainer_state) * 3 * 1.5)


# Workdirs a careless user (or a copy command) can produce. Each is refused
# before anything is trained, moved or overwritten.


def _copy_run(reference, tmp_path):
  workdir = str(tmp_path / "run")
  shutil.copytree(reference[0], workdir)
  return workdir


def _tree(workdir):
  return sorted(os.path.relpath(os.path.join(root, name), workdir)
                for root, dirs, files in os.walk(workdir)
                for name in dirs + files)


def test_checkpoints_path_that_is_a_file_fails_before_training(tmp_path,
                                                               monkeypatch):
  workdir = tmp_path / "run"
  workdir.mkdir()
  (workdir / "checkpoints").write_text("x")
  _no_training(monkeypatch)
  with pytest.raises(checkpointing.WorkdirError, match="is a file"):
    train.train_and_evaluate(_config(), str(workdir))


def test_checkpoints_without_config_json_are_not_resumed(reference, tmp_path,
                                                         monkeypatch):
  workdir = str(tmp_path / "run")
  os.makedirs(workdir)
  shutil.copytree(os.path.join(reference[0], "checkpoints"),
                  os.path.join(workdir, "checkpoints"))
  _no_training(monkeypatch)
  config = _config()
  config.seed = 7
  with pytest.raises(checkpointing.ConfigMismatchError, match="no config.json"):
    train.train_and_evaluate(config, workdir)
  assert not os.path.exists(os.path.join(workdir, "config.json"))


def test_unreadable_config_json_is_a_workdir_error(reference, tmp_path):
  workdir = _copy_run(reference, tmp_path)
  with open(os.path.join(workdir, "config.json"), "w") as f:
    f.write("{garbage")
  with pytest.raises(checkpointing.WorkdirError, match="config.json"):
    train.train_and_evaluate(_config(), workdir)
  with pytest.raises(checkpointing.WorkdirError, match="config.json"):
    evaluate.load_run(workdir)


def test_shape_changing_allowed_change_moves_nothing(reference, tmp_path):
  """--allow_config_change with a field that changes the parameters' shapes
  is refused without quarantining the run's good checkpoints."""
  workdir = _copy_run(reference, tmp_path)
  before = _tree(workdir)
  config = _config()
  config.model.head_out = 32
  config.optim.num_steps = NUM_STEPS + 2
  with pytest.raises(checkpointing.ConfigMismatchError,
                     match="model.head_out"):
    with pytest.warns(RuntimeWarning):
      train.train_and_evaluate(config, workdir, devices=jax.devices()[:1],
                               allow_config_change=True)
  assert _tree(workdir) == before
  assert not os.path.exists(os.path.join(workdir, "checkpoints_corrupt"))
  assert checkpointing.read_run_config(workdir).model.head_out == (
      _config().model.head_out)


def test_num_steps_below_the_checkpoint_is_refused(reference, tmp_path):
  workdir = _copy_run(reference, tmp_path)
  before = _tree(workdir)
  config = _config()
  config.optim.num_steps = NUM_STEPS - 2
  config.optim.warmup_steps = 1
  with pytest.raises(check.ConfigError, match="optim.num_steps"):
    train.train_and_evaluate(config, workdir, devices=jax.devices()[:1])
  assert _tree(workdir) == before
  assert checkpointing.read_run_config(workdir).optim.num_steps == NUM_STEPS


def test_evaluate_leaves_a_live_run_alone(reference, tmp_path):
  """Offline evaluation only reads: a save in progress (its tmp directory)
  is not deleted, and nothing is created or moved."""
  workdir = _copy_run(reference, tmp_path)
  in_flight = os.path.join(workdir, "checkpoints",
                           f"{NUM_STEPS + 1}.orbax-checkpoint-tmp-99")
  os.makedirs(os.path.join(in_flight, "default"))
  before = _tree(workdir)
  _, _, state = evaluate.load_run(workdir, devices=jax.devices()[:1])
  assert int(state["step"]) == NUM_STEPS
  assert _tree(workdir) == before
