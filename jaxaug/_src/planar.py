"""Planar execution: colour and filter ops on channel planes `(C, H, W)`.

Why. XLA on CPU vectorises loops along the minor axis. In the `(H, W, C)`
layout with C = 3 every per-channel expression is a stride-3 access, which
it compiles into shuffles or scalar code; on channel planes the minor axis
is the image width and the same expressions run as plain vector code
(measured on the 2-core CPU of the benchmarks, 224x224, per example:
separable 23-tap blur 3.2 ms interleaved vs 0.43 ms planar, transposes in
and out included). Three more XLA:CPU facts shape the kernels here:

* a `concatenate` (`jnp.stack`) whose operands are computed in the same
  fusion compiles into scalar code with a branch per element (a hue rotation
  stacked into planes: 22 us vs 4 us per 32x32 image); `assemble` writes
  planes with `dynamic_update_slice` instead, which compiles into one
  vector loop per plane;
* `lax.optimization_barrier` does not stop fusion (jaxlib 0.10), so which
  intermediates are materialised is decided by XLA's fusion heuristics;
* a per-pixel quantity used by several planes (a pixel's max channel, its
  hue) is materialised as a plane or recomputed per plane.

A `PlanarOp` is the planar form of a random op: `apply(key, planes)` draws
from `key` exactly as the op does and returns what the op returns, as planes
in the compute dtype (float32 or wider) with values in [0, 1]. `jaxaug.chain`
runs each run of consecutive planar ops on planes (one transpose in, one
out) instead of converting around every op.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp

from jaxaug._src import checks
from jaxaug._src import fusion


@dataclasses.dataclass(frozen=True)
class PlanarOp:
  """The planar form of a random op, for `jaxaug.chain`.

  Attributes:
    apply: `apply(key, planes) -> planes`; `planes` is a `(C, H, W)` float
      array (compute dtype, values in [0, 1]); the result has the same shape
      and dtype, values in [0, 1], and equals the op's result transposed
      (same draws from `key`).
    channels: the channel counts the op accepts (None: any).
    gated: optional `gated(key, planes, on) -> planes` with a traced bool
      scalar `on`: equals `apply(key, planes)` where `on` and `planes`
      exactly where not, with the same draws from `key`, computed without a
      select between two results (e.g. by switching the op's parameters to
      an exact identity). `with_probability` uses it so that a gated-off op
      costs no extra pass under `vmap`.
  """
  apply: Callable[[jax.Array, jax.Array], jax.Array]
  channels: Optional[tuple[int, ...]] = None
  gated: Optional[Callable[[jax.Array, jax.Array, jax.Array],
                           jax.Array]] = None


_REGISTRY: dict[Callable[..., Any], Callable[..., PlanarOp]] = {}


def register_planar(fn: Callable[..., Any],
                    builder: Callable[..., PlanarOp]) -> None:
  """Registers `builder(**options) -> PlanarOp` for the random op `fn`."""
  _REGISTRY[fn] = builder


def planar_op(fn: Any) -> Optional[PlanarOp]:
  """Returns the `PlanarOp` of a callable, or None.

  Recognises objects carrying a `__jaxaug_planar__` attribute (set by
  `with_probability` around a planar op), registered random ops and
  `functools.partial(fn, **options)` of them (keyword options only; a
  `channel_axis` other than -1 is not planar).
  """
  return fusion.fused_form(fn, _REGISTRY, "__jaxaug_planar__", PlanarOp)


def assemble(planes: Sequence[jax.Array]) -> jax.Array:
  """Stacks `(H, W)` planes into `(C, H, W)` without a `concatenate`.

  Each plane is written with `dynamic_update_slice` into the result, which
  XLA:CPU compiles into one vectorised loop per plane, with the plane's
  computation fused in; `jnp.stack` fused with its producers compiles into
  scalar code (see the module docstring).
  """
  if len(planes) == 1:
    return planes[0][None]
  out = jnp.zeros((len(planes),) + planes[0].shape, planes[0].dtype)
  zero = jnp.zeros((), jnp.int32)  # one index dtype, with or without x64
  for i, p in enumerate(planes):
    out = jax.lax.dynamic_update_slice(out, p[None],
                                       (jnp.int32(i), zero, zero))
  return out


def split(planes: jax.Array) -> tuple[jax.Array, ...]:
  """The `(H, W)` planes of a `(C, H, W)` array."""
  return tuple(planes[i] for i in range(planes.shape[0]))


def to_planes(image: jax.Array) -> jax.Array:
  """`(H, W, C)` -> `(C, H, W)`."""
  return jnp.moveaxis(image, -1, 0)


def from_planes(planes: jax.Array) -> jax.Array:
  """`(C, H, W)` -> `(H, W, C)`."""
  return jnp.moveaxis(planes, 0, -1)


def check_channels(planes: jax.Array, op: PlanarOp, name: str) -> None:
  """Raises the op's channel-count error at trace time."""
  if op.channels is not None and planes.shape[0] not in op.channels:
    raise ValueError(f"{name}: image must have "
                     f"{' or '.join(map(str, op.channels))} channels on "
                     f"axis -1, got {planes.shape[0]}")


def run(ops: Sequence[PlanarOp], keys: Sequence[jax.Array],
        image: jax.Array, name: str = "chain") -> jax.Array:
  """Applies planar ops in turn to an `(H, W, C)` image, one transpose each
  way; values are rounded to the image dtype between ops, as the ops
  themselves do when applied one by one."""
  image = checks.check_image(image)
  dtype = image.dtype
  cdt = checks.compute_dtype(dtype)
  planes = to_planes(image.astype(cdt))
  for op, key in zip(ops, keys):
    check_channels(planes, op, name)
    planes = op.apply(key, planes)
    if cdt != dtype:
      planes = planes.astype(dtype).astype(cdt)
  return checks.image_out(from_planes(planes), dtype)
