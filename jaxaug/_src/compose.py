"""Composition of augmentations: `chain`, `with_probability`, `one_of`,
`in_random_order`.

Each combinator takes augmentations `fn(key, image) -> image` and returns one
of the same form, usable under `jit` and `vmap`. Keys are split so that every
op draws from its own key. Combinators take no key themselves, so none is
named `random_*` (that prefix is kept for key-first ops): `random_apply` and
`random_order` are deprecated aliases of `with_probability` and
`in_random_order`.

Geometric fusion: `chain` fuses runs of consecutive geometric random ops
(see `jaxaug._src.geometric.geometric_op`) into ONE resampling pass by
multiplying their output->input matrices, which avoids the blur of repeated
interpolation and is faster. The other combinators keep that property: a
`with_probability`, `one_of`, `in_random_order` or `chain` built from
geometric ops is itself fusable.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxaug._src import checks
from jaxaug._src import deprecation
from jaxaug._src import geometric
from jaxaug._src import planar

Augmentation = Callable[[jax.Array, jax.Array], jax.Array]
GeometricOp = geometric.GeometricOp


def _check_fns(fns: Sequence[Any], name: str) -> None:
  if not fns:
    raise ValueError(f"{name} needs at least one augmentation")
  for i, fn in enumerate(fns):
    if not callable(fn):
      raise TypeError(f"{name}: argument {i} must be a callable fn(key, "
                      f"image) -> image, got {type(fn).__name__}")


def _merge(ops: Sequence[GeometricOp]) -> tuple[int, Optional[str], Any, bool]:
  """Group settings: highest order, first op's mode/cval, all axis-aligned."""
  order = max(op.order for op in ops)
  mode, cval = None, 0.0
  for op in ops:
    if op.mode is not None:
      mode, cval = op.mode, op.cval
      break
  return order, mode, cval, all(op.axis_aligned for op in ops)


def _chain_sampler(ops: Sequence[GeometricOp]):
  """Matrix sampler of a run of geometric ops, one key per op."""

  def sample_with_keys(keys, hw):
    m = jnp.eye(3, dtype=jnp.float32)
    for k, op in zip(keys, ops):
      mi, hw = op.sample(k, tuple(hw))
      # Output of op i is the input of op i+1, so the output->input maps
      # compose left to right: M = M1 @ M2 @ ... .
      m = m @ mi
    return m, tuple(hw)

  return sample_with_keys


def _shape_of(fn, key, image) -> jax.ShapeDtypeStruct:
  # A shape probe: the real call that follows emits the op's deprecation
  # warnings; here they would come twice.
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    return jax.eval_shape(fn, key, image)


def _check_same_shape(fns, key, image, name) -> None:
  want = (tuple(image.shape), jnp.dtype(image.dtype))
  for i, fn in enumerate(fns):
    out = _shape_of(fn, key, image)
    got = (tuple(out.shape), jnp.dtype(out.dtype))
    if got != want:
      raise ValueError(
          f"{name}: augmentation {i} ({getattr(fn, '__name__', fn)!r}) maps "
          f"an image of shape {want[0]} dtype {want[1]} to shape {got[0]} "
          f"dtype {got[1]}; all branches must keep shape and dtype (put "
          "resizing ops outside, e.g. in a chain)")


def chain(*fns: Augmentation, fuse: bool = True) -> Augmentation:
  """Applies augmentations one after another.

  Every op gets its own key (`jax.random.split(key, len(fns))[i]`, also when
  fused). With `fuse=True`, each run of two or more consecutive geometric
  random ops (flips, crops, rotate, scale, shear, translate, affine, resized
  crop, and `with_probability`/`one_of`/`in_random_order`/`chain` of them)
  is done
  in ONE resampling pass with the product of their matrices. The fused run
  uses the highest interpolation `order` of its ops and the boundary `mode`
  and `cval` of its first op that has one (flips and crops have none);
  pixels are sampled from the original image, so boundary handling happens
  once, at the run's end result (this differs from the unfused result only
  near borders, and has less interpolation blur). Runs of axis-aligned ops
  (flips, crops, resized crops, scale, translate) use the fast separable
  resampler. Any non-geometric op ends a run.

  Planar runs: with `fuse=True`, each run of two or more consecutive colour
  and filter ops that have a planar form (`color_jitter`,
  `random_grayscale`, `random_gaussian_blur`, `functools.partial` of them
  with keyword options, and `with_probability` of them) is computed on
  channel planes `(C, H, W)` with one transpose in and one out (see
  `jaxaug._src.planar`): the same draws and the same values as applying the
  ops one by one, to float rounding (values are rounded to the image dtype
  between ops, as the ops do).

  Args:
    *fns: augmentations `fn(key, image) -> image`.
    fuse: fuse geometric runs and planar runs (default True); False
      applies each op alone.

  Returns:
    `fn(key, image) -> image`, fusable itself when all `fns` are geometric.

  Raises:
    ValueError: no augmentations given. TypeError: a non-callable.

  Example:
    >>> import functools, jaxaug
    >>> aug = chain(functools.partial(jaxaug.random_resized_crop, size=16),
    ...             jaxaug.random_flip_left_right)
    >>> aug(jax.random.key(0), jnp.zeros((32, 32, 3))).shape
    (16, 16, 3)
  """
  _check_fns(fns, "chain")
  ops = [geometric.geometric_op(fn) if fuse else None for fn in fns]
  flat = [planar.planar_op(fn) if fuse and ops[i] is None else None
          for i, fn in enumerate(fns)]
  # Static grouping: (start, stop, kind) runs of fusable geometric ops of
  # length >= 2, runs of planar ops of length >= 2, and single ops.
  groups: list[tuple[int, int, str]] = []
  i = 0
  while i < len(fns):
    for kind, forms in (("geometric", ops), ("planar", flat)):
      j = i
      while j < len(fns) and forms[j] is not None:
        j += 1
      if j - i >= 2:
        groups.append((i, j, kind))
        i = j
        break
    else:
      groups.append((i, i + 1, "single"))
      i += 1

  def chained(key: jax.Array, image: jax.typing.ArrayLike) -> jax.Array:
    checks.check_key(key)
    keys = jax.random.split(key, len(fns))
    for start, stop, kind in groups:
      if kind == "single":
        image = fns[start](keys[start], image)
      elif kind == "planar":
        image = planar.run(flat[start:stop], keys[start:stop], image)
      else:
        image = checks.check_image(image)
        group = ops[start:stop]
        m, out_shape = _chain_sampler(group)(keys[start:stop],
                                             image.shape[:2])
        order, mode, cval, aligned = _merge(group)
        image = geometric.apply_matrix(image, m, out_shape, order=order,
                                       mode=mode, cval=cval,
                                       axis_aligned=aligned)
    return image

  if all(op is not None for op in ops):
    sampler = _chain_sampler(ops)
    order, mode, cval, aligned = _merge(ops)
    chained.__jaxaug_geometric__ = GeometricOp(
        lambda key, hw: sampler(jax.random.split(key, len(ops)), hw), order,
        mode, cval, aligned)
  return chained


def with_probability(fn: Augmentation,
                     probability: jax.typing.ArrayLike) -> Augmentation:
  """Applies `fn` with probability `probability`, else returns the image.

  Uses `lax.cond` (under `vmap` both branches run and one is selected), so
  `fn` must keep the image shape and dtype. Inside a fused `chain`, a planar
  op (colour jitter, grayscale, blur) that is gated off is instead run with
  its parameters set to an exact identity (factors 1, hue delta 0, sigma 0):
  the same draws and values for finite images, one pass instead of two
  results and a select. The probability semantics (an independent Bernoulli
  coin per call) are unchanged.

  Args:
    fn: augmentation `fn(key, image) -> image`.
    probability: chance of applying `fn`, in [0, 1]; may be traced.

  Returns:
    `fn(key, image) -> image`; fusable when `fn` is (the matrix is the
    identity when `fn` is not applied).

  Raises:
    ValueError: `probability` outside [0, 1]; `fn` changes the shape (at
      trace time).

  Example:
    >>> import jaxaug
    >>> aug = with_probability(jaxaug.random_rotate, 0.5)
    >>> aug(jax.random.key(0), jnp.zeros((8, 8, 3))).shape
    (8, 8, 3)
  """
  _check_fns([fn], "with_probability")
  checks.check_probability(probability, "probability")

  def applied(key: jax.Array, image: jax.typing.ArrayLike) -> jax.Array:
    checks.check_key(key)
    image = checks.check_image(image)
    k_coin, k_fn = jax.random.split(key)
    _check_same_shape([fn], k_fn, image, "with_probability")
    coin = jax.random.uniform(k_coin) < probability
    return jax.lax.cond(coin, lambda x: fn(k_fn, x), lambda x: x, image)

  op = geometric.geometric_op(fn)
  if op is not None:

    def sample(key, hw):
      k_coin, k_fn = jax.random.split(key)
      m, out_shape = op.sample(k_fn, hw)
      if tuple(out_shape) != tuple(hw):
        raise ValueError("with_probability: the augmentation changes the "
                         f"image size {tuple(hw)} -> {tuple(out_shape)}")
      coin = jax.random.uniform(k_coin) < probability
      return jnp.where(coin, m, jnp.eye(3, dtype=m.dtype)), out_shape

    applied.__jaxaug_geometric__ = GeometricOp(sample, op.order, op.mode,
                                               op.cval, op.axis_aligned)
  flat = planar.planar_op(fn)
  if flat is not None:

    def apply(key, planes):
      # The same draws as `applied`. With a gated form, the coin switches
      # the op to an exact identity (one pass, no select); otherwise
      # `lax.cond` as in `applied` (both branches run under `vmap`).
      k_coin, k_fn = jax.random.split(key)
      coin = jax.random.uniform(k_coin) < probability
      if flat.gated is not None:
        return flat.gated(k_fn, planes, coin)
      return jax.lax.cond(coin, lambda p: flat.apply(k_fn, p), lambda p: p,
                          planes)

    gated = None
    if flat.gated is not None:

      def gated(key, planes, on):
        k_coin, k_fn = jax.random.split(key)
        coin = jax.random.uniform(k_coin) < probability
        return flat.gated(k_fn, planes, jnp.logical_and(on, coin))

    applied.__jaxaug_planar__ = planar.PlanarOp(apply, flat.channels, gated)
  return applied


def _weights_logits(weights, n: int) -> jax.Array:
  if weights is None:
    return jnp.zeros((n,), jnp.float32)
  w = jnp.asarray(weights, jnp.float32)
  if w.shape != (n,):
    raise ValueError(f"weights must have one entry per augmentation ({n}), "
                     f"got shape {tuple(w.shape)}")
  v = checks.concrete_value(weights)
  if v is not None:
    v = np.asarray(v, np.float64)
    if not np.all(np.isfinite(v)) or np.any(v < 0) or v.sum() <= 0:
      raise ValueError("weights must be non-negative, finite, and not all "
                       f"zero, got {weights!r}")
  # log(0) = -inf is fine for categorical; clamp the rest away from 0.
  return jnp.where(w > 0, jnp.log(jnp.maximum(w, 1e-30)), -jnp.inf)


def one_of(*fns: Augmentation, weights=None) -> Augmentation:
  """Applies exactly one of `fns`, chosen at random.

  Uses `lax.switch` (under `vmap` all branches run and one is selected), so
  every branch must map the image to the same shape and dtype.

  Args:
    *fns: augmentations `fn(key, image) -> image`.
    weights: optional relative probabilities, one per fn (non-negative, not
      all zero; may be traced). Default: uniform.

  Returns:
    `fn(key, image) -> image`; fusable when all `fns` are geometric.

  Raises:
    ValueError: no fns, bad `weights`, or branches with different output
      shapes (at trace time).

  Example:
    >>> import jaxaug
    >>> aug = one_of(jaxaug.random_flip_left_right, jaxaug.random_rotate)
    >>> aug(jax.random.key(0), jnp.zeros((8, 8, 3))).shape
    (8, 8, 3)
  """
  _check_fns(fns, "one_of")
  logits = _weights_logits(weights, len(fns))

  def chosen(key: jax.Array, image: jax.typing.ArrayLike) -> jax.Array:
    checks.check_key(key)
    image = checks.check_image(image)
    k_choice, k_fn = jax.random.split(key)
    _check_same_shape(fns, k_fn, image, "one_of")
    index = jax.random.categorical(k_choice, logits)
    branches = [lambda x, f=f: f(k_fn, x) for f in fns]
    return jax.lax.switch(index, branches, image)

  ops = [geometric.geometric_op(fn) for fn in fns]
  if all(op is not None for op in ops):

    def sample(key, hw):
      k_choice, k_fn = jax.random.split(key)
      shapes = {tuple(op.sample(k_fn, hw)[1]) for op in ops}
      if len(shapes) != 1:
        raise ValueError(f"one_of: branches give different sizes {shapes}")
      index = jax.random.categorical(k_choice, logits)
      branches = [lambda k, op=op: op.sample(k, hw)[0] for op in ops]
      return jax.lax.switch(index, branches, k_fn), shapes.pop()

    order, mode, cval, aligned = _merge(ops)
    chosen.__jaxaug_geometric__ = GeometricOp(sample, order, mode, cval,
                                              aligned)
  return chosen


def in_random_order(*fns: Augmentation) -> Augmentation:
  """Applies all of `fns`, in a uniformly random order.

  Op `i` always gets key `split(k_fns, n)[i]`, whatever its position. Each
  step is a `lax.switch`; under `vmap` every branch runs at every step
  (n^2 op evaluations), so keep the list short. Every op must keep the
  image shape and dtype.

  Args:
    *fns: augmentations `fn(key, image) -> image`.

  Returns:
    `fn(key, image) -> image`; fusable when all `fns` are geometric (then the
    matrices are multiplied in the drawn order, one resampling pass).

  Raises:
    ValueError: no fns, or an op that changes the shape (at trace time).

  Example:
    >>> import jaxaug
    >>> aug = in_random_order(jaxaug.random_rotate, jaxaug.random_scale)
    >>> aug(jax.random.key(0), jnp.zeros((8, 8, 3))).shape
    (8, 8, 3)
  """
  _check_fns(fns, "in_random_order")
  n = len(fns)

  def ordered(key: jax.Array, image: jax.typing.ArrayLike) -> jax.Array:
    checks.check_key(key)
    image = checks.check_image(image)
    k_perm, k_fns = jax.random.split(key)
    keys = jax.random.split(k_fns, n)
    _check_same_shape(fns, keys[0], image, "in_random_order")
    perm = jax.random.permutation(k_perm, n)
    branches = [lambda x, i=i: fns[i](keys[i], x) for i in range(n)]
    for step in range(n):
      with warnings.catch_warnings():
        if step:
          # Every step traces every op again: an op's deprecation warning
          # comes once, from the first step.
          warnings.simplefilter("ignore", DeprecationWarning)
        image = jax.lax.switch(perm[step], branches, image)
    return image

  ops = [geometric.geometric_op(fn) for fn in fns]
  if all(op is not None for op in ops):

    def sample(key, hw):
      k_perm, k_fns = jax.random.split(key)
      keys = jax.random.split(k_fns, n)
      mats = []
      for k, op in zip(keys, ops):
        m, out = op.sample(k, hw)
        if tuple(out) != tuple(hw):
          raise ValueError("in_random_order: an augmentation changes the size "
                           f"{tuple(hw)} -> {tuple(out)}")
        mats.append(m)
      mats = jnp.stack(mats)
      perm = jax.random.permutation(k_perm, n)
      m = jnp.eye(3, dtype=mats.dtype)
      for step in range(n):
        m = m @ mats[perm[step]]
      return m, tuple(hw)

    order, mode, cval, aligned = _merge(ops)
    ordered.__jaxaug_geometric__ = GeometricOp(sample, order, mode, cval,
                                               aligned)
  return ordered


random_apply = deprecation.alias(with_probability, "jaxaug.random_apply",
                                 "jaxaug.with_probability")
random_order = deprecation.alias(in_random_order, "jaxaug.random_order",
                                 "jaxaug.in_random_order")
