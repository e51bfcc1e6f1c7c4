"""Command-line parsing of `python -m research.train` (absl + config_flags).

Flags:

  --config=research/configs/experiment.py:OBJECTIVE,DATASET[,RANDOM_FIELD]
  --config.SUB.FIELD=VALUE     any number of overrides (`--config_help`)
  --workdir=DIR                run directory (created when training starts)
  --allow_config_change        resume DIR even if its run used another config
  --config_help                list the config fields and exit (with
                               --config: that config's values)

Multi-process runs (one process per host; `jax.distributed.initialize`'s
arguments, all three or none: with none, JAX detects SLURM, Open MPI and
Cloud TPU clusters, and elsewhere the run is one process):

  --coordinator_address=HOST:PORT   where process 0 listens
  --num_processes=N                 number of processes
  --process_id=I                    this process, 0..N-1
  --initialization_timeout=SECONDS  wait this long for the others (60)

Every error is reported as one paragraph naming the flag or config field, the
value and what is allowed, with exit code 2 and nothing written.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, NamedTuple, Union

from absl import flags
import ml_collections
from ml_collections import config_flags

from research.configs import base
from research.configs import check

USAGE = """usage: python -m research.train \\
    --config=research/configs/experiment.py:OBJECTIVE,DATASET[,RANDOM_FIELD] \\
    --workdir=DIR [--config.SUB.FIELD=VALUE ...] [--allow_config_change] \\
    [--coordinator_address=HOST:PORT --num_processes=N --process_id=I] \\
    [--initialization_timeout=SECONDS]

OBJECTIVE: {objectives}
DATASET: {datasets}
RANDOM_FIELD: mild, medium, strong (omitted: off)
Example:
  python -m research.train --config=research/configs/experiment.py:simclr,digits,mild \\
      --workdir=/tmp/run --config.optim.num_steps=1000
"""


class Args(NamedTuple):
  """The parsed command line."""

  config: ml_collections.ConfigDict
  workdir: str
  allow_config_change: bool
  launch: dict[str, Any]  # `research.distributed.initialize`'s arguments.


def _expected_errors() -> tuple[type[BaseException], ...]:
  from research import checkpointing  # pylint: disable=g-import-not-at-top
  from research import data  # pylint: disable=g-import-not-at-top
  from research import distributed  # pylint: disable=g-import-not-at-top
  return (check.ConfigError, checkpointing.ConfigMismatchError,
          checkpointing.WorkdirError, data.DatasetError,
          distributed.DistributedError)


def fail(error: Union[BaseException, str]) -> int:
  """Prints `error` as one paragraph to stderr; returns exit code 2."""
  print(f"error: {error}", file=sys.stderr, flush=True)
  return 2


def usage() -> str:
  return USAGE.format(objectives=", ".join(base.OBJECTIVES),
                      datasets=", ".join(base.DATASETS))


def _override_paths(argv: list[str]) -> list[tuple[str, str]]:
  out = []
  for arg in argv:
    if arg.startswith("--config."):
      path = arg[len("--config."):].split("=", 1)[0]
      out.append((path, arg))
  return out


def _config_spec(argv: list[str]) -> str | None:
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(argv):
      return argv[i + 1]
  return None


def _load_config_file(spec: str):
  """Loads `file.py[:arg]`: `(config, None)`, or `(None, error message)`."""
  path, _, arg = spec.partition(":")
  if not os.path.isfile(path):
    return None, f"--config={spec}: config file {path!r} not found"
  try:
    module_spec = importlib.util.spec_from_file_location("_config", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    config = module.get_config(arg) if arg else module.get_config()
  except Exception as e:  # pylint: disable=broad-except
    return None, f"--config={spec}: {e}"
  return config, None


def _print(text: str) -> None:
  """Prints to stdout; a closed pipe (`| head`) is not an error."""
  try:
    print(text, flush=True)
  except BrokenPipeError:
    # Python would report the pipe again when flushing stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def parse(argv: list[str]) -> Union[int, Args]:
  """Parses the command line.

  Args:
    argv: the arguments after the program name.

  Returns:
    `Args(config, workdir, allow_config_change, launch)`, or an exit code
    (0 after `--help` / `--config_help`, 2 after an error, already
    reported).
  """
  if any(a in ("-h", "--help", "--helpfull") for a in argv):
    _print(usage() + "\n" + check.help_text())
    return 0
  if "--config_help" in argv:
    spec = _config_spec(argv)
    config, problem = (None, None) if spec is None else _load_config_file(spec)
    if problem:
      return fail(problem)
    _print(check.help_text(config, spec or ""))
    return 0
  for path, arg in _override_paths(argv):
    if path not in base.FIELDS:
      return fail(f"unknown config field {path!r} in {arg}"
                  f"{check.suggest(path, base.FIELDS)}; --config_help lists "
                  f"the fields")
  spec = _config_spec(argv)
  if spec is not None:
    _, problem = _load_config_file(spec)
    if problem:
      return fail(problem)
  fv = flags.FlagValues()
  config_flags.DEFINE_config_file(
      "config", None, "experiment config file[:objective,dataset[,field]]",
      flag_values=fv, lock_config=True,
      sys_argv=["research.train"] + list(argv))  # Not sys.argv: tests, scripts.
  flags.DEFINE_string("workdir", None, "run directory", flag_values=fv)
  flags.DEFINE_bool("allow_config_change", False,
                    "resume a workdir whose run used another config",
                    flag_values=fv)
  flags.DEFINE_string("coordinator_address", None,
                      "HOST:PORT of process 0 (multi-process runs)",
                      flag_values=fv)
  flags.DEFINE_integer("num_processes", None, "number of processes",
                       lower_bound=1, flag_values=fv)
  flags.DEFINE_integer("process_id", None, "this process, 0..N-1",
                       lower_bound=0, flag_values=fv)
  flags.DEFINE_integer("initialization_timeout", 60,
                       "seconds to wait for the other processes",
                       lower_bound=1, flag_values=fv)
  try:
    fv(["research.train"] + list(argv))
  except flags.Error as e:
    return fail(f"{e}\n{usage()}")
  except (ValueError, TypeError, KeyError, AttributeError) as e:
    return fail(f"bad --config ({type(e).__name__}: {e})")
  if fv["config"].value is None or not fv["workdir"].value:
    missing = [n for n in ("config", "workdir")
               if not fv[n].value]
    return fail(f"missing {', '.join('--' + m for m in missing)}\n{usage()}")
  config = fv["config"].value
  try:
    check.validate(config)
    from research import data  # pylint: disable=g-import-not-at-top
    data.check_prepared(config.data.dataset, config.data.data_dir or None)
  except _expected_errors() as e:
    return fail(e)
  launch = {name: fv[name].value for name in (
      "coordinator_address", "num_processes", "process_id",
      "initialization_timeout")}
  return Args(config, fv["workdir"].value, fv["allow_config_change"].value,
              launch)


def expected_errors() -> tuple[type[BaseException], ...]:
  """The exceptions the CLI reports as one paragraph (no traceback)."""
  return _expected_errors()
