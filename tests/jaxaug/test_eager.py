"""Eager calls of random ops run as one compiled call (checks._compiled_random_call).

The compiled path must be invisible: same values as the op under `jit`, the
same errors for bad inputs (concrete image values, option types that compare
equal, concrete array options), deprecation warnings on every call, and no
use inside a trace.
"""

import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxaug
from jaxaug._src import checks

KEY = jax.random.key(0)
IMG = jax.random.uniform(jax.random.key(1), (12, 10, 3))


@pytest.mark.parametrize("op,options", [
    (jaxaug.random_rotate, dict(angle=(-0.3, 0.3))),
    (jaxaug.random_field_warp, dict(rotation=0.1, translation=2.0)),
    (jaxaug.random_field_color, dict(hue=0.05, saturation=0.2)),
    (jaxaug.color_jitter, dict(brightness=0.4, contrast=0.4, saturation=0.4,
                               hue=0.1)),
    (jaxaug.random_resized_crop, dict(size=(8, 8))),
])
def test_eager_equals_jit_and_compiles_once(op, options, monkeypatch):
  calls = []
  original = jax.jit

  def counting_jit(fun, *a, **k):
    calls.append(fun)
    return original(fun, *a, **k)

  eager = op(KEY, IMG, **options)
  jitted = jax.jit(lambda k, x: op(k, x, **options))(KEY, IMG)
  np.testing.assert_allclose(eager, jitted, atol=1e-6)
  # Same options again: served by the cache, no new jax.jit of the op.
  monkeypatch.setattr(jax, "jit", counting_jit)
  again = op(KEY, IMG, **options)
  assert not [f for f in calls if f.__name__ == "call"]
  np.testing.assert_array_equal(again, eager)
  # A different key gives a different draw (the key is not baked in).
  other = op(jax.random.key(5), IMG, **options)
  assert not np.array_equal(other, eager)


def test_eager_concrete_image_out_of_range_still_raises():
  jaxaug.random_rotate(KEY, IMG, angle=(-0.3, 0.3))
  with pytest.raises(ValueError, match="image must have values in"):
    jaxaug.random_rotate(KEY, IMG * 2., angle=(-0.3, 0.3))


def test_eager_options_equal_but_of_another_type_are_checked_again():
  # size=4 compiles; size=4.0 (== 4, same hash) must still be rejected.
  out = jaxaug.random_crop(KEY, IMG, size=4)
  assert out.shape == (4, 4, 3)
  with pytest.raises(TypeError, match="size"):
    jaxaug.random_crop(KEY, IMG, size=4.0)


def test_eager_concrete_array_option_keeps_its_value_checks():
  # A concrete array option is not static: the op runs eagerly and its
  # concrete-value check (non-finite parameter) still fires.
  with pytest.raises(ValueError, match="angle"):
    jaxaug.random_rotate(KEY, IMG, angle=jnp.array([jnp.nan, 0.3]))


def test_eager_deprecated_spelling_warns_on_every_call():
  for _ in range(2):
    with pytest.warns(DeprecationWarning, match="angle_range"):
      jaxaug.random_rotate(KEY, IMG, angle_range=(-0.3, 0.3))


def test_eager_path_not_used_inside_a_trace(monkeypatch):
  used = []
  original = checks._compiled_random_call

  def spy(*a, **k):
    out = original(*a, **k)
    used.append(out is not NotImplemented)
    return out

  monkeypatch.setattr(checks, "_compiled_random_call", spy)
  jax.jit(lambda k, x: jaxaug.random_rotate(k, x, angle=(-0.3, 0.3)))(KEY,
                                                                       IMG)
  assert used and not any(used)
  jaxaug.random_rotate(KEY, IMG, angle=(-0.3, 0.3))
  assert used[-1]


def test_eager_compiles_a_bounded_number_of_option_sets(monkeypatch):
  monkeypatch.setattr(checks, "_EAGER_COMPILES_PER_OP", 4)
  cache = {}

  def fn(key, image, *, delta):
    del key
    return image * 0 + delta

  sig = inspect.signature(fn)
  results = [checks._compiled_random_call(fn, sig, cache, (KEY, IMG),
                                          {"delta": float(i) / 1000})
             for i in range(9)]
  assert len(cache) == 4
  # The first four option sets compiled; the rest fall back to eager calls.
  assert all(r is not NotImplemented for r in results[:4])
  assert all(r is NotImplemented for r in results[4:])
  # A compiled option set is still served.
  assert checks._compiled_random_call(fn, sig, cache, (KEY, IMG),
                                      {"delta": 0.001}) is not NotImplemented


def test_eager_error_order_and_zero_sized_images():
  # Shape and channel errors come before the value rule, as eagerly.
  with pytest.raises(ValueError, match="zero-sized axis"):
    jaxaug.random_brightness(KEY, jnp.zeros((0, 4, 3)))
  with pytest.raises(ValueError, match="channels"):
    jaxaug.color_jitter(KEY, jnp.full((4, 5, 4), 2.), brightness=0.1)


@pytest.mark.parametrize("value", [2.0, -1.0, float("nan")])
def test_eager_random_erasing_checks_its_fill_value(value):
  with pytest.raises(ValueError, match="value must have values in"):
    jaxaug.random_erasing(KEY, IMG, probability=1.0, value=value)


def test_eager_deprecation_warning_once_per_call_across_shapes():
  for shape in ((6, 6, 3), (7, 5, 3), (6, 6, 3)):
    with warnings.catch_warnings(record=True) as w:
      warnings.simplefilter("always")
      jaxaug.random_rotate(KEY, jnp.full(shape, 0.5), angle_range=(-0.3, 0.3))
    assert sum("angle_range" in str(x.message) for x in w) == 1, shape
