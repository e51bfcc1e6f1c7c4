"""Lookup of the fused form of a random op (shared by `geometric`, `planar`).

`jaxaug.chain` fuses runs of ops that have an alternative form: geometric
ops as one resampling matrix (`geometric.GeometricOp`), colour and filter
ops on channel planes (`planar.PlanarOp`). Each kind keeps a registry
`{random op: builder(**options) -> form}`; `fused_form` resolves a callable
to its form the same way for both.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional


def fused_form(fn: Any, registry: dict[Callable[..., Any], Callable[..., Any]],
               attribute: str, form_type: type) -> Optional[Any]:
  """The fused form of `fn`, or None if it has none.

  Args:
    fn: a callable: an object carrying `attribute` (an instance of
      `form_type`, set e.g. by `with_probability`), a registered random op, or
      a `functools.partial(op, **options)` of one (keyword options only; a
      `channel_axis` other than -1 has no fused form).
    registry: `{random op: builder(**options) -> form_type}`.
    attribute: the attribute name carrying a prebuilt form.
    form_type: the form's class.

  Returns:
    `builder(**options)`, the attribute's form, or None (also when the
    builder rejects the options with a TypeError).
  """
  attr = getattr(fn, attribute, None)
  if isinstance(attr, form_type):
    return attr
  options: dict[str, Any] = {}
  while isinstance(fn, functools.partial):
    if fn.args:
      return None
    options = {**fn.keywords, **options}
    fn = fn.func
  try:
    builder = registry.get(fn)
  except TypeError:  # unhashable callable
    return None
  if builder is None:
    return None
  if options.pop("channel_axis", -1) not in (-1, None):
    return None
  try:
    return builder(**options)
  except TypeError:
    return None
