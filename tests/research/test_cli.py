"""The training CLI fails fast and clearly, and never mixes two runs.

Error cases run the real command (`python -m research.train`) in a
subprocess and assert the exit code, that the message names the field or
cause, that it fails within 10 s of CPU time (before any data or
compilation work; CPU time, so the check holds on a loaded machine), prints
no traceback and leaves no workdir.
"""

import json
import os
import resource
import subprocess
import sys

import pytest

from research import checkpointing
from research import cli
from research import train
from research import utils
from research.configs import base
from research.configs import check
from research.configs import experiment
from research.objectives import registry
from tiny_runs import overrides
from tiny_runs import tiny_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIG = "--config=research/configs/experiment.py:simclr,digits"


def _run(*args, env=None):
  """Runs the CLI; returns the process and the CPU seconds it used.

  CPU time (not wall time) measures the work done before the error, and
  does not grow when other tests load the machine.
  """
  full_env = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  proc = subprocess.run([sys.executable, "-m", "research.train", *args],
                        cwd=REPO, env=full_env, capture_output=True,
                        text=True, timeout=300)
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  return proc, cpu


CASES = [
    # (extra args, words the message must contain)
    (["--config.data.batch_size=-64"], ["data.batch_size", "-64", ">= 2"]),
    (["--config.objective.name=byol"], ["objective.name", "byol", "simclr"]),
    (["--config.augment.random_field=extreme"],
     ["augment.random_field", "extreme", "mild"]),
    (["--config.model.encoder=resnet34"],
     ["model.encoder", "resnet34", "resnet18"]),
    (["--config.optim.num_stepz=3"],
     ["optim.num_stepz", 'did you mean "optim.num_steps"']),
    (["--config.optim.batch_size=64"],
     ["optim.batch_size", 'did you mean "data.batch_size"']),
    (["--config.data.batch_size=abc"], ["data.batch_size", "abc"]),
    (["--config.objective.temperature=0"],
     ["objective.temperature", "> 0.0"]),
    (["--config.augment.crop_size=64"], ["augment.crop_size", "image_size"]),
    (["--config.optim.num_steps=2"],
     ["optim.warmup_steps", "--config.optim.warmup_steps="]),
    # Only the data knows its size: checked when the pipeline is built,
    # before any training or checkpoint.
    (["--config.data.batch_size=100000"],
     ["data.batch_size=100000", "1500"]),
    (["--config.optim.base_learning_rate=nan"],
     ["optim.base_learning_rate", "finite"]),
    (["--config.eval.knn_temperature=inf"], ["eval.knn_temperature", "finite"]),
    (["--config.seed=99999999999999999999"], ["seed", "<= 2147483647"]),
    (["--config.data.image_size=100000"], ["data.image_size", "<= 2048"]),
]


@pytest.mark.parametrize("extra,words", CASES,
                         ids=[c[0][0].split("=")[0] for c in CASES])
def test_bad_config_fails_fast_naming_the_field(tmp_path, extra, words):
  workdir = tmp_path / "run"
  proc, seconds = _run(CONFIG, f"--workdir={workdir}", *extra)
  assert proc.returncode == 2, proc.stderr
  for word in words:
    assert word in proc.stderr, (word, proc.stderr)
  assert "Traceback" not in proc.stderr
  assert seconds < 10, seconds
  assert not workdir.exists()


def test_bad_experiment_and_missing_dataset(tmp_path):
  workdir = tmp_path / "run"
  proc, _ = _run("--config=research/configs/experiment.py:simclr,digitz",
                 f"--workdir={workdir}")
  assert proc.returncode == 2 and "digitz" in proc.stderr
  assert "'digits'" in proc.stderr and "Traceback" not in proc.stderr
  missing = tmp_path / "no_tfds"
  proc, seconds = _run("--config=research/configs/experiment.py:simclr,cifar10",
                       f"--workdir={workdir}",
                       f"--config.data.data_dir={missing}")
  assert proc.returncode == 2
  assert f"no folder {missing}/cifar10" in proc.stderr
  assert "tfds build cifar10" in proc.stderr and "Traceback" not in proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
  assert seconds < 10 and not workdir.exists()


def test_help_lists_every_config_field():
  proc, _ = _run("--help")
  assert proc.returncode == 0
  for path in base.FIELDS:
    assert path in proc.stdout, path
  assert "optim.num_steps" in check.help_text()


def test_config_help_shows_the_experiment_values():
  """With --config, the listed values are that experiment's, not the base
  defaults (the digits recipe: batch 128, AdamW, temperature 0.1)."""
  proc, _ = _run(CONFIG, "--config_help")
  assert proc.returncode == 0, proc.stderr
  rows = {line.split()[0]: line.split()[1]
          for line in proc.stdout.splitlines() if line.startswith("  ")}
  assert rows["data.batch_size"] == "128"
  assert rows["optim.optimizer"] == "'adamw'"
  assert rows["objective.temperature"] == "0.1"
  assert proc.stdout.count("[run]") == 1
  base_rows = check.help_text().splitlines()
  assert any(r.split()[:2] == ["data.batch_size", "256"] for r in base_rows
             if r.startswith("  "))


def test_config_help_into_a_closed_pipe_is_quiet():
  full_env = dict(os.environ, PYTHONPATH=REPO)
  proc = subprocess.run(
      f"{sys.executable} -m research.train --config_help | head -2",
      shell=True, cwd=REPO, env=full_env, capture_output=True, text=True,
      timeout=120)
  assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
  assert len(proc.stdout.splitlines()) == 2


def test_parse_applies_nested_overrides(tmp_path):
  config, workdir, allow, launch = cli.parse([
      "--config=research/configs/experiment.py:simclr,digits,mild",
      f"--workdir={tmp_path}", "--config.data.batch_size=64",
      "--config.optim.base_learning_rate=1", "--config.augment.area=(0.2,1.0)"])
  assert config.data.batch_size == 64 and config.augment.random_field == "mild"
  assert config.optim.base_learning_rate == 1.0
  assert tuple(config.augment.area) == (0.2, 1.0)
  assert workdir == str(tmp_path) and allow is False
  assert launch == {"coordinator_address": None, "num_processes": None,
                    "process_id": None, "initialization_timeout": 60}
  args = cli.parse([CONFIG, f"--workdir={tmp_path}",
                    "--coordinator_address=127.0.0.1:1234",
                    "--num_processes=2", "--process_id=1",
                    "--initialization_timeout=5"])
  assert args.launch == {"coordinator_address": "127.0.0.1:1234",
                         "num_processes": 2, "process_id": 1,
                         "initialization_timeout": 5}


def test_registry_and_config_agree():
  assert sorted(registry.REGISTRY) == sorted(base.OBJECTIVES)
  assert sorted(base.SOFT_LABEL_OBJECTIVES) == sorted(
      n for n, o in registry.REGISTRY.items() if o.soft_labels)
  for name in base.OBJECTIVES:
    for dataset in base.DATASETS:
      check.validate(experiment.get_config(f"{name},{dataset}"))
      # Every objective-specific field the registry reads exists.
      config = experiment.get_config(f"{name},{dataset}")
      for sub in ("mochi", "multihead"):
        assert set(config.objective[sub]) == {
            p.split(".")[-1] for p in base.FIELDS
            if p.startswith(f"objective.{sub}.")}
  for name in base.SOFT_LABEL_OBJECTIVES:
    for mixing in base.MIXINGS[1:]:
      config = experiment.get_config(f"{name}+{mixing},digits")
      check.validate(config)
      assert config.augment.mixing == mixing
  with pytest.raises(ValueError, match="soft labels"):
    experiment.get_config("simclr+mixup,digits")
  config = experiment.get_config("supcon,digits")
  config.augment.mixing = "cutmix"
  with pytest.raises(check.ConfigError, match="augment.mixing"):
    check.validate(config)
  with pytest.raises(ValueError, match="registered"):
    registry.get("byol")


def test_resume_refuses_another_config_and_accepts_safe_changes(tmp_path):
  workdir = str(tmp_path)
  config = tiny_config(optim__num_steps=4, eval__every=0)
  train.train_and_evaluate(config, workdir)
  changed = tiny_config(optim__num_steps=4, eval__every=0,
                        data__batch_size=32, augment__preset="none")
  with pytest.raises(checkpointing.ConfigMismatchError) as info:
    train.train_and_evaluate(changed, workdir)
  message = str(info.value)
  assert "data.batch_size: 16 (run) vs 32 (now)" in message
  assert "augment.preset: 'flip' (run) vs 'none' (now)" in message
  assert checkpointing.read_run_config(workdir).data.batch_size == 16
  # The CLI says the same with exit code 2 and no traceback.
  proc, _ = _run(CONFIG, f"--workdir={workdir}", *overrides(changed))
  assert proc.returncode == 2 and "data.batch_size: 16 (run)" in proc.stderr
  assert "Traceback" not in proc.stderr
  # A safe change (more steps) continues and is recorded.
  longer = tiny_config(optim__num_steps=6, eval__every=0)
  results = train.train_and_evaluate(longer, workdir)
  assert results["step"] == 6
  with open(os.path.join(workdir, "config_changes.jsonl")) as f:
    change = json.loads(f.readline())
  assert change["step"] == 4
  assert change["changes"] == {"optim.num_steps": [4, 6]}
  steps = [(r["split"], r["step"]) for r in utils.read_metrics(workdir)]
  assert len(steps) == len(set(steps))
  # An explicit override accepts an unsafe change.
  train.train_and_evaluate(tiny_config(optim__num_steps=6, eval__every=0,
                                       log_every=2), workdir,
                           allow_config_change=True)
  assert checkpointing.read_run_config(workdir).log_every == 2


def test_cli_resume_prints_the_step(tmp_path):
  workdir = str(tmp_path)
  config = tiny_config(optim__num_steps=3, eval__every=0)
  train.train_and_evaluate(config, workdir)
  more = tiny_config(optim__num_steps=4, eval__every=0)
  proc, _ = _run(CONFIG, f"--workdir={workdir}", *overrides(more))
  assert proc.returncode == 0, proc.stderr
  assert "resumed from step 3" in proc.stderr
  assert json.loads(proc.stdout)["step"] == 4
  steps = [(r["split"], r["step"]) for r in utils.read_metrics(workdir)]
  assert len(steps) == len(set(steps))
  # A finished run started again trains nothing: it reports the last logged
  # loss (strict JSON, no NaN), not a loss of its own.
  last_loss = utils.read_metrics(workdir, split="train")[-1]["loss"]
  again = train.train_and_evaluate(more, workdir)
  assert again["step"] == 4 and again["loss"] == last_loss
  json.dumps(again, allow_nan=False)
