"""Loading `get_config()` files and applying `--config.field=value` overrides."""

from __future__ import annotations

import ast
import importlib.util
import os
from typing import Iterable

import ml_collections

from research.configs import base


def load_config(spec: str) -> ml_collections.ConfigDict:
  """Runs `get_config()` of a config file.

  Args:
    spec: `path/to/file.py`, optionally followed by `:arg`, which is passed
      as the single argument of `get_config` (e.g. `simclr_cifar10.py:mild`).

  Returns:
    The ConfigDict.

  Raises:
    FileNotFoundError: the file does not exist.
    ValueError: the file has no `get_config`.

  Example:
    >>> load_config("research/configs/simclr_digits.py:mild").random_field
    'mild'
  """
  path, _, arg = spec.partition(":")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"config file {path!r} not found")
  module_spec = importlib.util.spec_from_file_location("_config", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ValueError(f"config file {path!r} defines no get_config()")
  return module.get_config(arg) if arg else module.get_config()


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Rejects fields that the base config does not know.

  Raises:
    ValueError: naming the first unknown field.
  """
  known = set(base.get_config().keys())
  unknown = sorted(set(config.keys()) - known)
  if unknown:
    raise ValueError(
        f"unknown config field {unknown[0]!r} (all unknown: {unknown}); "
        f"known fields: {sorted(known)}")


def _parse_value(text: str, current):
  if isinstance(current, str):
    return text
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    value = text
  if isinstance(current, bool):
    if isinstance(value, str) and value.lower() in ("true", "false"):
      return value.lower() == "true"
    return bool(value)
  if isinstance(current, float) and isinstance(value, int):
    return float(value)
  return value


def apply_overrides(config: ml_collections.ConfigDict,
                    overrides: Iterable[str]) -> ml_collections.ConfigDict:
  """Applies `field=value` strings (the part after `--config.`).

  Values are parsed as Python literals and converted to the field's type
  (strings are taken verbatim).

  Args:
    config: config to update in place.
    overrides: e.g. `["batch_size=64", "random_field=mild"]`.

  Returns:
    `config`.

  Raises:
    ValueError: unknown field (named) or malformed override.

  Example:
    >>> c = apply_overrides(base.get_config(), ["batch_size=64"])
    >>> c.batch_size
    64
  """
  for item in overrides:
    name, sep, text = item.partition("=")
    if not sep:
      raise ValueError(f"override {item!r} must look like field=value")
    if name not in config:
      raise ValueError(f"unknown config field {name!r}")
    current = config[name]
    value = _parse_value(text, current)
    try:
      config[name] = value
    except TypeError as e:
      raise ValueError(f"config field {name!r}: cannot set {text!r} ({e})") from e
  return config
