"""Deprecated spellings kept for one release, each with a warning.

`docs/api_conventions.md` lists every rename. Two kinds:

* `alias(fn, old_name, new_name)`: an old function name that forwards to
  the new function;
* `renamed_options(fn, convert, old_names)`: a function that still accepts
  old keyword spellings (e.g. `max_delta=0.2`) and converts them to the new
  ones (`delta=(-0.2, 0.2)`).

Both warn with a `DeprecationWarning` pointing at the caller, and are marked
(`__jaxaug_deprecated__`) so that the API test can tell them apart.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import warnings
from typing import Any, Callable, Mapping, Sequence

REMOVAL = "0.3.0"


_JAXAUG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _internal(filename: str) -> bool:
  """True for frames of jaxaug itself and of JAX (its tracing machinery)."""
  dirs = [_JAXAUG_DIR]
  jax_module = sys.modules.get("jax")
  if jax_module is not None and getattr(jax_module, "__file__", None):
    dirs.append(os.path.dirname(os.path.abspath(jax_module.__file__)))
  path = os.path.abspath(filename)
  return any(path.startswith(d + os.sep) for d in dirs)


def user_stacklevel() -> int:
  """`stacklevel` that makes a warning point at the user's code.

  For `warnings.warn(..., stacklevel=user_stacklevel())` called directly in
  a function: the number of frames from that function up to the first frame
  outside jaxaug and JAX (the call into jaxaug, whether the op ran eagerly,
  through its compiled eager path, or under a user's `jit`).
  """
  frame = sys._getframe(1)  # pylint: disable=protected-access
  level = 1
  while frame is not None and _internal(frame.f_code.co_filename):
    frame = frame.f_back
    level += 1
  return level


def warn(message: str) -> None:
  """Emits the DeprecationWarning of a renamed spelling, at the user's call."""
  warnings.warn(f"{message}; the old spelling will be removed in jaxaug "
                f"{REMOVAL} (see docs/api_conventions.md)",
                DeprecationWarning, stacklevel=user_stacklevel())


def alias(fn: Callable[..., Any], old_name: str,
          new_name: str) -> Callable[..., Any]:
  """Returns `old_name`, a deprecated alias that calls `fn` (`new_name`).

  Args:
    fn: the new function.
    old_name: the deprecated name, as users spell it (e.g.
      "jaxaug.random_apply").
    new_name: the new name (e.g. "jaxaug.with_probability").

  Returns:
    A function with the signature of `fn` that warns, then calls `fn`.
  """

  @functools.wraps(fn)
  def deprecated(*args, **kwargs):
    warn(f"{old_name} is deprecated, use {new_name}")
    return fn(*args, **kwargs)

  short = old_name.rsplit(".", 1)[-1]
  deprecated.__name__ = deprecated.__qualname__ = short
  deprecated.__doc__ = (f"Deprecated alias of `{new_name}` (removed in "
                        f"jaxaug {REMOVAL}); see `{new_name}`.")
  deprecated.__jaxaug_deprecated__ = new_name
  return deprecated


def renamed_options(fn: Callable[..., Any],
                    convert: Callable[..., Mapping[str, Any]],
                    old_names: Sequence[str], *,
                    name: str | None = None) -> Callable[..., Any]:
  """Lets `fn` accept the old keyword spellings `old_names` for one release.

  Args:
    fn: function taking the new keywords.
    convert: `convert(**old) -> new` maps the old keywords given (a subset
      of `old_names`) to new keywords, e.g.
      `lambda max_delta: {"delta": (-max_delta, max_delta)}`.
    old_names: the deprecated keyword names.
    name: the public name shown in the warning (default `fn.__name__`).

  Returns:
    A function with `fn`'s signature (as `inspect.signature` reports it)
    that converts old keywords with a warning and calls `fn`.

  Raises:
    TypeError: (when called) an old keyword and its new spelling are both
      given.
  """
  old_names = tuple(old_names)
  shown = name or fn.__name__

  @functools.wraps(fn)
  def wrapper(*args, **kwargs):
    old = {k: kwargs.pop(k) for k in old_names if k in kwargs}
    if old:
      new = dict(convert(**old))
      clash = sorted(set(new) & set(kwargs))
      if clash:
        raise TypeError(f"{shown}: got both the deprecated "
                        f"{sorted(old)} and {clash}; pass only {clash}")
      olds = ", ".join(f"{k}=" for k in old)
      news = ", ".join(f"{k}=" for k in new)
      warn(f"{shown}({olds}) is deprecated, use {shown}({news})")
      kwargs.update(new)
    return fn(*args, **kwargs)

  wrapper.__signature__ = inspect.signature(fn)
  wrapper.__jaxaug_renamed_options__ = old_names
  return wrapper


def symmetric(new: str, old: str) -> Callable[..., dict[str, Any]]:
  """Converter for `max_x=m` -> `new=(-m, m)`."""

  def convert(**kwargs):
    m = kwargs[old]
    return {new: (-m, m)}

  return convert


def pair(new: str, low: str, high: str, default_low: Any,
         default_high: Any) -> Callable[..., dict[str, Any]]:
  """Converter for `low=a, high=b` (either may be missing) -> `new=(a, b)`."""

  def convert(**kwargs):
    return {new: (kwargs.get(low, default_low), kwargs.get(high, default_high))}

  return convert


def renamed(mapping: Mapping[str, str]) -> Callable[..., dict[str, Any]]:
  """Converter for plain renames `old=v` -> `new=v`."""

  def convert(**kwargs):
    return {mapping[k]: v for k, v in kwargs.items()}

  return convert
