"""Multi-process training on one machine (issue 17): equality, kill, errors.

Two CLI processes (`python -m research.train` with `--coordinator_address`,
`--num_processes=2`, `--process_id`), each with 4 fake CPU devices and gloo
collectives, train the same config as one process with 8 devices (the
pytest process): the losses of every step, the final parameters and the
evaluation must agree. Then one of the two processes is killed in the
middle of a checkpoint save, both are restarted, and the resumed run must
end where the uninterrupted one ended.

The equality and kill tests take a few minutes on 2 CPU cores (each process
imports JAX and compiles the step): they are marked `slow` and
`multiprocess`, and `make test` runs them after the default suite with
`pytest -m multiprocess`. The start-up error tests are quick and run in the
default suite.
"""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from research import evaluate
from research import train
from research import utils

import tiny_runs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIG = "--config=research/configs/experiment.py:simclr,digits"
NUM_STEPS = tiny_runs.CLI_NUM_STEPS
OVERRIDES = tiny_runs.CLI_OVERRIDES
WRAPPER = tiny_runs.CLI_WRAPPER
_config = tiny_runs.cli_config


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env(devices, **extra):
  env = dict(os.environ, PYTHONPATH=REPO, **extra)
  flags = re.sub(r"--xla_force_host_platform_device_count=\d+", "",
                 env.get("XLA_FLAGS", ""))
  env["XLA_FLAGS"] = (f"{flags} --xla_force_host_platform_device_count="
                      f"{devices}").strip()
  return env


class Job:
  """`num_processes` CLI processes of one run on localhost.

  Process 0's stdout is read line by line (`wait_for`); everything else
  goes to files in `logs`.
  """

  def __init__(self, workdir, logs, *, num_processes=2, devices=4,
               extra=(), per_process=None, env=None):
    os.makedirs(logs, exist_ok=True)
    self.logs = logs
    port = _free_port()
    self.procs, self.lines = [], []
    for i in range(num_processes):
      args = [sys.executable, "-u", "-c", WRAPPER, CONFIG,
              f"--workdir={workdir}", *(f"--config.{o}" for o in OVERRIDES),
              f"--coordinator_address=127.0.0.1:{port}",
              f"--num_processes={num_processes}", f"--process_id={i}",
              "--initialization_timeout=120", *extra,
              *((per_process or {}).get(i, ()))]
      stdout = (subprocess.PIPE if i == 0 else
                open(os.path.join(logs, f"{i}.out"), "w"))
      stderr = open(os.path.join(logs, f"{i}.err"), "w")
      self.procs.append(subprocess.Popen(
          args, cwd=REPO, env=_env(devices, **(env or {})), stdout=stdout,
          stderr=stderr, text=True))

  def wait_for(self, line):
    for out in self.procs[0].stdout:
      self.lines.append(out.rstrip("\n"))
      if self.lines[-1] == line:
        return
    raise AssertionError(f"process 0 ended (rc {self.procs[0].wait()}) "
                         f"before {line!r}:\n{self.log(0)}")

  def finish(self, timeout=600):
    out, _ = self.procs[0].communicate(timeout=timeout)
    self.lines += out.splitlines()
    codes = [p.wait(timeout=timeout) for p in self.procs]
    return codes

  def kill(self, i):
    self.procs[i].send_signal(signal.SIGKILL)
    assert self.procs[i].wait() == -signal.SIGKILL

  def log(self, i):
    with open(os.path.join(self.logs, f"{i}.err")) as f:
      return "\n".join(_own_lines(f.read().splitlines())[-30:])

  def results(self):
    """The final metrics process 0 printed (indented JSON, from "{" to "}",
    among gloo's notices, which may share a line with each other)."""
    start = len(self.lines) - 1 - self.lines[::-1].index("{")
    end = self.lines.index("}", start)
    return json.loads("\n".join(self.lines[start:end + 1]))


def _own_lines(lines):
  """Output lines without gloo's connection notices."""
  return [l for l in lines if "[Gloo]" not in l]


def _params(workdir):
  _, _, state = evaluate.load_run(workdir, devices=jax.devices()[:1])
  return jax.device_get(state["params"])


def _losses(workdir):
  return {r["step"]: r["loss"] for r in utils.read_metrics(workdir,
                                                            split="train")}


def _finished_steps(workdir):
  names = os.listdir(os.path.join(workdir, "checkpoints"))
  return sorted(int(n) for n in names if n.isdigit())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """One process x 8 devices (here) and 2 processes x 4 devices (CLI)."""
  root = tmp_path_factory.mktemp("multiprocess")
  one, two = str(root / "one"), str(root / "two")
  results_one = train.train_and_evaluate(_config(), one)
  job = Job(two, str(root / "two_logs"))
  codes = job.finish()
  assert codes == [0, 0], "\n".join(job.log(i) for i in range(2))
  return {"one": one, "two": two, "results_one": results_one, "job": job,
          "root": root}


@pytest.mark.slow
@pytest.mark.multiprocess
def test_two_processes_match_one_process(runs):
  assert len(jax.devices()) == 8
  one, two = runs["one"], runs["two"]
  losses_one, losses_two = _losses(one), _losses(two)
  assert sorted(losses_two) == list(range(1, NUM_STEPS + 1))
  for step in losses_one:
    print(f"step {step}: loss 1x8 {losses_one[step]:.7f}  "
          f"2x4 {losses_two[step]:.7f}")
  np.testing.assert_allclose([losses_two[s] for s in sorted(losses_one)],
                             [losses_one[s] for s in sorted(losses_one)],
                             rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5),
               _params(two), _params(one))
  # Evaluation (kNN, few-label and linear probes, online probe) on the same
  # features gives the same numbers.
  results_two = runs["job"].results()
  for key in ("knn_acc", "linear_probe_acc", "probe_test_acc"):
    assert results_two[key] == pytest.approx(runs["results_one"][key],
                                             abs=1e-9), key
  assert results_two["few_label_probe_acc"] == pytest.approx(
      runs["results_one"]["few_label_probe_acc"], abs=1e-9)
  # Only process 0 writes metrics and results; both wrote checkpoint shards.
  with open(os.path.join(runs["root"], "two_logs", "1.out")) as f:
    assert "knn_acc" not in f.read()  # (gloo's notices may interleave.)
  assert sorted(os.listdir(two)) == ["checkpoints", "config.json",
                                     "metrics.jsonl"]
  saved = os.listdir(os.path.join(two, "checkpoints", str(NUM_STEPS),
                                  "default"))
  assert {"ocdbt.process_0", "ocdbt.process_1"} <= set(saved), saved


@pytest.mark.slow
@pytest.mark.multiprocess
def test_killed_process_resumes_to_the_uninterrupted_run(runs, tmp_path):
  workdir, logs = str(tmp_path / "run"), str(tmp_path / "logs")
  # 1. Process 0 hangs while committing step 4 (steps 1-3 are complete);
  # process 1 is killed there, then process 0 (a scheduler restarts both).
  job = Job(workdir, logs, env={"HANG_IN_SAVE_STEP": "4"})
  job.wait_for("COMMIT 4")
  time.sleep(0.2)
  job.kill(1)
  job.kill(0)
  assert _finished_steps(workdir) == [1, 2, 3]
  names = os.listdir(os.path.join(workdir, "checkpoints"))
  assert [n for n in names if n.startswith("4.orbax-checkpoint-tmp")], names

  # 2. Both restart with the same command: they resume from step 3 and end
  # where the uninterrupted two-process run ended.
  job = Job(workdir, logs + "_resumed")
  codes = job.finish()
  assert codes == [0, 0], "\n".join(job.log(i) for i in range(2))
  assert "resumed from step 3" in job.log(0)
  assert _finished_steps(workdir) == list(range(1, NUM_STEPS + 1))
  jax.tree.map(np.testing.assert_array_equal, _params(workdir),
               _params(runs["two"]))
  assert _losses(workdir) == _losses(runs["two"])
  results = job.results()
  assert results["knn_acc"] == runs["job"].results()["knn_acc"]


def _start(workdir, per_process, *, ids=(0, 1), num_processes=2, timeout=20):
  """Starts processes `ids` of a job (1 device each); returns exit codes,
  stderrs and the CPU seconds they used."""
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  port = _free_port()
  procs = []
  for i in ids:
    args = [sys.executable, "-m", "research.train", CONFIG,
            f"--workdir={workdir}", f"--process_id={i}",
            f"--num_processes={num_processes}",
            f"--coordinator_address=127.0.0.1:{port}",
            f"--initialization_timeout={timeout}", *per_process.get(i, ())]
    procs.append(subprocess.Popen(args, cwd=REPO, env=_env(1),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True))
  errs = [p.communicate(timeout=300)[1] for p in procs]
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  return [p.returncode for p in procs], errs, cpu


def _assert_clean_error(codes, errs, cpu, workdir, *words):
  """Exit code 2, one paragraph naming the cause, no traceback, nothing
  written, and little CPU time (no data loading or compilation)."""
  assert codes == [2] * len(codes), errs
  for err in errs:
    assert "Traceback" not in err, err
    assert err.startswith("error: ") and err.count("error: ") == 1, err
    for word in words:
      assert word in err, (word, err)
  assert cpu < 10 * len(codes), cpu
  assert not os.path.exists(workdir)


def test_processes_with_different_configs_stop_naming_the_fields(tmp_path):
  workdir = str(tmp_path / "run")
  codes, errs, cpu = _start(workdir, {
      1: ["--config.optim.base_learning_rate=0.01"]})
  _assert_clean_error(codes, errs, cpu, workdir, "different config",
                      "optim.base_learning_rate: 0.003 (process 0), 0.01 "
                      "(process 1)")


def test_batch_not_divisible_by_the_processes(tmp_path):
  workdir = str(tmp_path / "run")
  codes, errs, cpu = _start(workdir, {
      i: ["--config.data.batch_size=15"] for i in range(2)})
  _assert_clean_error(codes, errs, cpu, workdir, "data.batch_size=15",
                      "number of processes (2)")


def test_unreachable_coordinator_or_missing_process_fails_in_time(tmp_path):
  workdir = str(tmp_path / "run")
  # Process 1 alone: nobody listens at the coordinator's address.
  codes, errs, cpu = _start(workdir, {}, ids=(1,), timeout=3)
  _assert_clean_error(codes, errs, cpu, workdir,
                      "process 1 could not reach the coordinator at "
                      "127.0.0.1:", "within 3 s")
  # Process 0 alone: process 1 never comes.
  codes, errs, cpu = _start(workdir, {}, ids=(0,), timeout=3)
  _assert_clean_error(codes, errs, cpu, workdir, "process 0 waited 3 s",
                      "process(es) 1 never connected")
  # Two processes that disagree on the process count.
  codes, errs, cpu = _start(workdir, {1: ["--num_processes=3"]}, timeout=5)
  assert codes == [2, 2], errs
  assert "process 1 was started with --num_processes=3" in errs[0], errs
