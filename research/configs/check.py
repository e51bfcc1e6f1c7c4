"""Config validation: every error names the field, the value and what is allowed.

`validate(config)` runs before anything is created or compiled (no JAX
import), so a bad value fails in well under a second with one message
instead of a traceback from data loading or a trace.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any, Iterable

import ml_collections

from research.configs import base


class ConfigError(ValueError):
  """An invalid config; the message names the field, value and what is allowed."""


def flatten(config: ml_collections.ConfigDict, prefix: str = "") -> dict[str, Any]:
  """`{"optim.num_steps": 300, ...}`: every leaf of a nested config."""
  out = {}
  for key in config.keys():
    value = config[key]
    path = f"{prefix}{key}"
    if isinstance(value, ml_collections.ConfigDict):
      out.update(flatten(value, path + "."))
    else:
      out[path] = value
  return out


def suggest(name: str, known: Iterable[str]) -> str:
  """' (did you mean "x"?)' for the closest known name, or ''."""
  known = list(known)
  close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
  if not close:  # A right leaf under the wrong parent: optim.batch_size.
    leaf = name.rsplit(".", 1)[-1]
    close = [k for k in known if k.rsplit(".", 1)[-1] == leaf][:1]
  return f' (did you mean "{close[0]}"?)' if close else ""


def _same_type(default: Any, value: Any) -> bool:
  if isinstance(default, bool) or isinstance(value, bool):
    return isinstance(default, bool) and isinstance(value, bool)
  if isinstance(default, float):
    return isinstance(value, numbers.Real)
  if isinstance(default, int):
    return isinstance(value, numbers.Integral)
  if isinstance(default, tuple):
    return isinstance(value, (tuple, list))
  return isinstance(value, type(default))


def _check_field(path: str, field: base.Field, value: Any) -> None:
  if not _same_type(field.default, value):
    raise ConfigError(
        f"config field {path}={value!r} has type {type(value).__name__}; "
        f"expected {type(field.default).__name__} (default "
        f"{field.default!r}: {field.help})")
  if field.choices is not None and value not in field.choices:
    raise ConfigError(
        f"config field {path}={value!r} is not allowed; choose one of "
        f"{', '.join(repr(c) for c in field.choices)}{suggest(str(value), [str(c) for c in field.choices])}")
  if isinstance(value, numbers.Real) and not isinstance(value, bool):
    if not math.isfinite(value):
      raise ConfigError(f"config field {path}={value!r} must be a finite "
                        f"number ({field.help})")
    low_bad = field.low is not None and (
        value < field.low or (field.low_open and value == field.low))
    high_bad = field.high is not None and value > field.high
    if low_bad or high_bad:
      lo = "" if field.low is None else (
          f"{'>' if field.low_open else '>='} {field.low}")
      hi = "" if field.high is None else f"<= {field.high}"
      allowed = " and ".join(p for p in (lo, hi) if p)
      raise ConfigError(f"config field {path}={value!r} is out of range; "
                        f"allowed: {allowed} ({field.help})")


def _check_tuples(flat: dict[str, Any]) -> None:
  area = tuple(flat["augment.area"])
  if (len(area) != 2 or not all(isinstance(a, numbers.Real) for a in area)
      or not 0 < area[0] <= area[1] <= 1):
    raise ConfigError(f"config field augment.area={area!r} must be (min, max) "
                      f"with 0 < min <= max <= 1")
  widths = tuple(flat["model.small_cnn_widths"])
  if not widths or not all(isinstance(w, numbers.Integral) and w >= 1
                           for w in widths):
    raise ConfigError(f"config field model.small_cnn_widths={widths!r} must "
                      f"be a non-empty tuple of positive ints")
  shots = tuple(flat["eval.few_label_shots"])
  if not all(isinstance(s, numbers.Integral) and s >= 1 for s in shots):
    raise ConfigError(f"config field eval.few_label_shots={shots!r} must be "
                      f"positive ints (labels per class)")


def _check_relations(flat: dict[str, Any]) -> None:
  if flat["augment.crop_size"] > flat["data.image_size"]:
    raise ConfigError(
        f"config field augment.crop_size={flat['augment.crop_size']} exceeds "
        f"data.image_size={flat['data.image_size']}; the views are crops of "
        f"the images")
  if flat["optim.warmup_steps"] > max(flat["optim.num_steps"], 0) and (
      flat["optim.num_steps"] > 0):
    raise ConfigError(
        f"config field optim.warmup_steps={flat['optim.warmup_steps']} "
        f"exceeds optim.num_steps={flat['optim.num_steps']}; for a short "
        f"run set both (e.g. --config.optim.num_steps=10 "
        f"--config.optim.warmup_steps=1)")
  if not flat["augment.random_field"] and (
      flat["augment.random_field_strength"] != 1.0 or
      flat["augment.random_field_length_scale"] != 0.0):
    raise ConfigError(
        "config fields augment.random_field_strength / "
        "augment.random_field_length_scale modify a random field setting; "
        "set augment.random_field to mild, medium or strong as well")
  if (flat["augment.mixing"] != "none" and
      flat["objective.name"] not in base.SOFT_LABEL_OBJECTIVES):
    raise ConfigError(
        f"config field augment.mixing={flat['augment.mixing']!r} needs an "
        f"objective that takes soft labels "
        f"({', '.join(base.SOFT_LABEL_OBJECTIVES)}), got objective.name="
        f"{flat['objective.name']!r}")
  if flat["augment.random_field"] and flat["augment.preset"] in ("flip",
                                                                 "none"):
    raise ConfigError(
        f"config field augment.random_field="
        f"{flat['augment.random_field']!r} needs augment.preset simclr or "
        f"simclr_cifar, got {flat['augment.preset']!r}")


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks every field of a run config; cheap (no JAX, no data).

  Args:
    config: a nested ConfigDict from `research.configs.base.get_config`
      (possibly modified).

  Raises:
    ConfigError: an unknown field (with a did-you-mean), a missing field, a
      wrong type, an out-of-range value or an unknown choice (objective,
      dataset, encoder, random-field setting, ...), naming the field, the
      value and what is allowed.
  """
  flat = flatten(config)
  for path in flat:
    if path not in base.FIELDS:
      raise ConfigError(f"unknown config field {path!r}"
                        f"{suggest(path, base.FIELDS)}; `--config_help` "
                        f"lists the fields")
  for path, field in base.FIELDS.items():
    if path not in flat:
      raise ConfigError(f"config field {path!r} is missing (default "
                        f"{field.default!r}: {field.help})")
    _check_field(path, field, flat[path])
  _check_tuples(flat)
  _check_relations(flat)


def help_text(config: ml_collections.ConfigDict | None = None,
              source: str = "") -> str:
  """Every config field with its value and meaning, one per line.

  Args:
    config: show this config's values (e.g. an experiment's); None: the
      base defaults, before the per-dataset and per-objective defaults.
    source: how `config` was made, for the header (e.g. its --config spec).
  """
  values = flatten(config) if config is not None else {
      path: field.default for path, field in base.FIELDS.items()}
  width = max(len(p) for p in base.FIELDS)
  if config is None:
    header = ("Config fields (set with --config.FIELD=VALUE), with their base "
              "defaults; an experiment applies per-dataset and per-objective "
              "defaults on top (add --config=FILE:objective,dataset to "
              "--config_help to see them):")
  else:
    header = (f"Config fields (set with --config.FIELD=VALUE), with the "
              f"values of {source or 'this config'}:")
  lines = [header]
  # Top-level fields first, then one block per section.
  paths = sorted(base.FIELDS, key=lambda p: ("." in p, p.split(".")[0]))
  section = None
  for path in paths:
    field = base.FIELDS[path]
    top = path.split(".")[0] if "." in path else ""
    if top != section:
      section = top
      lines.append(f"\n[{top or 'run'}]")
    allowed = ""
    if field.choices is not None:
      allowed = " {" + ", ".join(repr(c) for c in field.choices) + "}"
    value = values.get(path, field.default)
    lines.append(f"  {path:<{width}}  {value!r:<14} {field.help}{allowed}")
  return "\n".join(lines)


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
  """`{field: (old, new)}` for every flattened field that differs."""
  keys = sorted(set(old) | set(new))
  missing = object()
  out = {}
  for k in keys:
    a, b = old.get(k, missing), new.get(k, missing)
    if isinstance(a, list):
      a = tuple(a)
    if isinstance(b, list):
      b = tuple(b)
    if a != b:
      out[k] = (None if a is missing else a, None if b is missing else b)
  return out
