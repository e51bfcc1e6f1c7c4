"""Determinism across device counts, and memory held by the field ops.

The same seed must give the same augmented batch whether the batch lives on
one device or is sharded over the 8 fake CPU devices (threefry keys are
partitionable, so per-example keys do not depend on the sharding).
"""

import functools

import jax
import jax.numpy as jnp
import jaxaug
from jaxaug import presets
import numpy as np
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P


_AUG = jaxaug.chain(
    functools.partial(jaxaug.random_resized_crop, size=12),
    jaxaug.random_flip_left_right,
    functools.partial(jaxaug.random_field_warp, rotation=0.1, translation=1.),
    functools.partial(jaxaug.color_jitter, brightness=0.4, hue=0.1))


def _views(key, images):
  # Crop, flip, a random field (spectral sampling) and colour: the per-example
  # key handling of every kind of op, at a modest compile cost.
  return presets.two_views(key, images, _AUG)


def test_same_batch_on_one_and_eight_devices():
  assert jax.device_count() == 8, "conftest must set 8 fake CPU devices"
  key = jax.random.key(42)
  images = jax.random.uniform(jax.random.key(1), (16, 16, 16, 3))
  one = jax.device_put(images, jax.devices()[0])
  single = jax.jit(_views)(key, one)
  mesh = Mesh(np.array(jax.devices()), ("data",))
  sharded_images = jax.device_put(images, NamedSharding(mesh, P("data")))
  sharded = jax.jit(_views, out_shardings=NamedSharding(mesh, P("data")))(
      key, sharded_images)
  assert len(sharded[0].sharding.device_set) == 8
  for a, b in zip(single, sharded):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def test_chunked_two_views_on_a_sharded_batch():
  # Chunk j holds images j, j + B / chunk_size, ...: with the batch sharded in
  # contiguous blocks, every chunk is spread over all 8 devices (no
  # all-gather of the images), and the views equal the one-device ones.
  key = jax.random.key(7)
  images = jax.random.uniform(jax.random.key(1), (32, 16, 16, 3))
  fn = functools.partial(presets.two_views, aug=_AUG, chunk_size=8)
  single = jax.jit(fn)(key, jax.device_put(images, jax.devices()[0]))
  mesh = Mesh(np.array(jax.devices()), ("data",))
  sharding = NamedSharding(mesh, P("data"))
  sharded_images = jax.device_put(images, sharding)
  jitted = jax.jit(fn, out_shardings=sharding)
  hlo = jitted.lower(key, sharded_images).compile().as_text()
  assert "all-gather" not in hlo
  sharded = jitted(key, sharded_images)
  for a, b in zip(single, sharded):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def _temp_bytes(fn, *args):
  analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
  return analysis.temp_size_in_bytes


def test_field_ops_hold_few_batch_sized_buffers():
  # Compile-only memory analysis of a 256 x 224 x 224 x 3 batch (nothing is
  # allocated). Measured on CPU (jax 0.10.2): before issue 16, warp 9.2x the
  # batch (five field channels sampled on grids padded to ~1.9x the side,
  # plus the coordinate grid and a stacked 4-tap gather) and colour 5.3x.
  # Now the smooth fields are evaluated on the output grid by matmuls (no
  # padded grid) and each tap's gather fuses into the sum: warp 2.34x (five
  # field planes and two coordinate planes for three image planes), colour
  # 4.17x (the colour kernel itself). Issue 16's target for the warp: <= 3x.
  shape = jax.ShapeDtypeStruct((256, 224, 224, 3), jnp.float32)
  keys = jax.ShapeDtypeStruct((256,), jax.random.key(0).dtype)
  batch_bytes = 256 * 224 * 224 * 3 * 4
  warp = jax.vmap(lambda k, x: jaxaug.random_field_warp(
      k, x, rotation=0.1, scale=0.1, shear=0.1, translation=2.0))
  color = jax.vmap(lambda k, x: jaxaug.random_field_color(
      k, x, hue=0.05, saturation=0.2, brightness=0.2, contrast=0.2))
  for name, fn in (("warp", warp), ("color", color)):
    ratio = _temp_bytes(fn, keys, shape) / batch_bytes
    print(f"random_field_{name}: temporaries = {ratio:.2f} x batch")
    assert ratio <= {"warp": 3.0, "color": 5.0}[name], (name, ratio)
