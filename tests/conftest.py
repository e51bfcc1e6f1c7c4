"""Test set-up: 8 fake CPU devices, set before JAX initialises."""

import os

os.environ.setdefault("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in os.environ["XLA_FLAGS"]:
  os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=8"
# The suite is compile-bound (tiny arrays, hundreds of programs): LLVM's
# optimisation passes are most of the time and buy nothing at these sizes.
# Level 0 keeps XLA's HLO passes (fusion, layout, buffer assignment) and only
# skips backend code optimisation: about 30% off the end-to-end tests. Set
# XLA_FLAGS with an explicit level to override.
if "xla_backend_optimization_level" not in os.environ["XLA_FLAGS"]:
  os.environ["XLA_FLAGS"] += " --xla_backend_optimization_level=0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402  (after the flags above)

jax.config.update("jax_threefry_partitionable", True)


# The longest tests (end-to-end training, notebooks, the benchmark smoke run:
# each 30 s to 3 min of mostly XLA compilation) go first, so that under
# `pytest -n 2` they overlap with each other and with the short tests instead
# of running alone at the end.
_LONG_FIRST = ("tests/research/test_benchmarks.py", "tests/test_notebooks.py",
               "tests/research/test_faults.py", "tests/research/test_train.py")


def pytest_collection_modifyitems(config, items):
  del config  # Unused.

  def rank(item):
    path = item.nodeid.split("::")[0]
    for i, prefix in enumerate(_LONG_FIRST):
      if path.endswith(prefix):
        return i
    return len(_LONG_FIRST)

  items.sort(key=rank)  # Stable: the order within a file is kept.
