"""Notebook source (percent format); build with colabs/build_notebooks.py."""

# %% [markdown]
# # 04 · jaxaug in your own training loop
#
# jaxaug ops are pure functions of a PRNG key and an image, so they go *inside*
# your jitted train step: the augmentation compiles into the same XLA program as
# the forward and backward pass and runs on the accelerator, on the shard of the
# batch that each device holds. The host only ships raw `uint8` images.
#
# This notebook writes a small Flax NNX + Optax classifier step, as you would in
# your own project, and plugs jaxaug into it:
#
# 1. `jax.jit` over a device mesh with `NamedSharding` (data parallel: batch
#    sharded, parameters replicated), the recommended path;
# 2. `jax.pmap` with an `axis_name`, for code bases that still use it, including
#    a contrastive loss whose negatives are gathered across devices;
# 3. evidence that the augmentation runs on the device: it is in the compiled
#    program, the augmented batch lives sharded across devices, and a train step
#    runs with host-to-device transfers forbidden.
#
# On CPU the notebook fakes 8 devices, so everything runs anywhere.

# %%
# Colab only: install jaxaug (does nothing when run locally or in CI).
import os
import sys

if "google.colab" in sys.modules:
  import subprocess
  subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                  "{PIP_SPEC}"], check=True)

# The research code (one contrastive loss below) runs from a checkout of the
# repository, not from the installed package: put the checkout on the path.
import pathlib

REPO = (pathlib.Path("/content/jaxaug") if "google.colab" in sys.modules
        else pathlib.Path.cwd().parent)
sys.path.insert(0, str(REPO))

# Fake 8 CPU devices so that the sharding below is real even on a laptop. This
# must happen before JAX starts; on Colab (GPU/TPU) the real devices are used.
if ("google.colab" not in sys.modules
    and "xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", "")):
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                             + " --xla_force_host_platform_device_count=8")

# %%
# Knob: small settings run in about a minute on a CPU; FULL = True trains longer.
FULL = False
STEPS = 300 if FULL else 20
BATCH = 256 if FULL else 64   # global batch, split across the devices

# %%
import time

from flax import nnx
import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import matplotlib.pyplot as plt
import numpy as np
import optax
import sklearn.datasets

import jaxaug

print("JAX", jax.__version__, "| devices:", jax.device_count(),
      jax.devices()[0].platform)

# %% [markdown]
# ## Your data and your model
#
# scikit-learn's handwritten digits (shipped with the library, no download),
# upsampled to 32×32 RGB and kept as `uint8` on the host, as a real input
# pipeline would deliver them.

# %%
digits = sklearn.datasets.load_digits()
small = digits.images.astype(np.float32) / 16.0                  # (N, 8, 8)
big = jax.image.resize(small, (len(small), 32, 32), "bilinear")
train_images = np.asarray(
    np.repeat(np.asarray(big)[..., None], 3, axis=-1) * 255, np.uint8)
train_labels = digits.target.astype(np.int32)
print(train_images.shape, train_images.dtype, train_labels.shape)


class Classifier(nnx.Module):
  """A small convnet: what *your* model might look like."""

  def __init__(self, *, num_classes: int = 10, rngs: nnx.Rngs):
    self.conv1 = nnx.Conv(3, 16, (3, 3), strides=2, rngs=rngs)
    self.conv2 = nnx.Conv(16, 32, (3, 3), strides=2, rngs=rngs)
    self.head = nnx.Linear(8 * 8 * 32, num_classes, rngs=rngs)

  def features(self, x):  # (B, 32, 32, 3) -> (B, 2048)
    x = nnx.relu(self.conv1(x))
    x = nnx.relu(self.conv2(x))
    return x.reshape(x.shape[0], -1)

  def __call__(self, x):
    return self.head(self.features(x))

# %% [markdown]
# ## The augmentation
#
# One function `augment(key, image) -> image` for one `(H, W, C)` image, built
# from jaxaug pieces: a random resized crop, a mild random field warp (smooth
# per-pixel rotation, scale and translation) and a random brightness change
# applied with probability 0.8. `jaxaug.batch` lifts it to a batch: it splits
# the key into one key per example and `vmap`s. (Any jaxaug pipeline works the
# same way, e.g. `jaxaug.presets.simclr_cifar(32)`; this one is kept small so
# the notebook compiles quickly on a CPU.)

# %%
augment = jaxaug.chain(
    lambda key, x: jaxaug.random_resized_crop(key, x, size=(32, 32),
                                              area=(0.5, 1.0)),
    lambda key, x: jaxaug.random_field_warp(key, x, rotation=0.1, scale=0.05,
                                            translation=1.0, length_scale=8.0),
    jaxaug.with_probability(
        lambda key, x: jaxaug.random_brightness(key, x, delta=(-0.3, 0.3)),
        0.8),
)
augment_batch = jaxaug.batch(augment)

# The device mesh of section 1, made here so the preview already runs sharded.
mesh = Mesh(np.array(jax.devices()), ("data",))
data_sharding = NamedSharding(mesh, P("data"))
replicated = NamedSharding(mesh, P())

augment_on_mesh = jax.jit(augment_batch, out_shardings=data_sharding)
first_batch = jax.device_put(train_images[:BATCH], data_sharding)
preview = augment_on_mesh(jax.random.key(0), jaxaug.to_float(first_batch))
fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
for i in range(8):
  axes[0, i].imshow(train_images[i])
  axes[1, i].imshow(np.asarray(preview[i]))
for ax in axes.flat:
  ax.axis("off")
axes[0, 0].set_title("input", fontsize=8, loc="left")
axes[1, 0].set_title("augmented", fontsize=8, loc="left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 1 · `jax.jit` with a device mesh (data parallel)
#
# A 1-D mesh over all devices, axis `"data"`. The batch is placed with
# `NamedSharding(mesh, P("data"))` (each device holds `BATCH / n` examples), the
# model and optimizer state with `NamedSharding(mesh, P())` (replicated). Inside
# the step everything is ordinary single-device code: XLA partitions it,
# augmentation included, and inserts the gradient all-reduce.
#
# Randomness: one key per step, `fold_in(key, step)` with the optimizer's own
# step counter (so nothing but data crosses from the host); `jaxaug.batch` splits
# it into one key per example, so every example gets its own augmentation no
# matter how the batch is split across devices.

# %%
print(mesh)

model = Classifier(rngs=nnx.Rngs(0))
optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)
graphdef, state = nnx.split((model, optimizer))
state = jax.device_put(state, replicated)


def loss_fn(model, images, labels):
  logits = model(images)
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


@jax.jit
def train_step(state, images_u8, labels, key):
  model, optimizer = nnx.merge(graphdef, state)
  step_key = jax.random.fold_in(key, optimizer.step[...])
  images = jaxaug.to_float(images_u8)                      # on the device
  images = augment_batch(step_key, images)
  loss, grads = nnx.value_and_grad(loss_fn)(model, images, labels)
  optimizer.update(model, grads)
  return nnx.state((model, optimizer)), loss


def host_batch(step):
  """Host side: a uint8 batch as NumPy arrays, as your input pipeline gives."""
  idx = np.random.default_rng(step).choice(len(train_images), BATCH,
                                           replace=False)
  return train_images[idx], train_labels[idx]


def get_batch(step):
  """The host batch, sharded over the devices as it is put."""
  return jax.device_put(host_batch(step), data_sharding)


key = jax.device_put(jax.random.key(42), replicated)
losses_jit = []
start = time.perf_counter()
for step in range(STEPS):
  images_u8, labels = get_batch(step)
  state, loss = train_step(state, images_u8, labels, key)
  losses_jit.append(float(loss))
print(f"{STEPS} steps in {time.perf_counter() - start:.1f} s "
      f"(first step includes compilation); loss {losses_jit[0]:.3f} -> "
      f"{losses_jit[-1]:.3f}")

# %% [markdown]
# ## 2 · Augmentation happens on the device
#
# Three checks.
#
# **The augmentation is in the compiled program.** The random field warp evaluates
# its smooth fields from their Fourier modes with small matrix products (`dot`; FFTs
# for short length scales) and resamples the image with gathers; both appear in the
# HLO of the train step next to the convolutions of the model.

# %%
images_u8, labels = get_batch(0)
hlo = train_step.lower(state, images_u8, labels, key).compile().as_text()
counts = {op: hlo.count(f" {op}(") for op in
          ("fft", "dot", "gather", "convolution", "all-reduce")}
print(counts)
assert counts["gather"] > 0, "augmentation not in HLO?"
assert counts["fft"] + counts["dot"] > 0, "random fields not in HLO?"

plt.figure(figsize=(4, 1.8))
plt.bar(list(counts), list(counts.values()), color="tab:blue")
plt.title("ops in the compiled train step", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# **The augmented batch lives on the devices, sharded like the input.** Each
# device augments only its own examples (here the preview batch from above).

# %%
views = preview
print("augmented batch:", views.shape, views.dtype)
print("sharding:", views.sharding)
for shard in views.addressable_shards[:4]:
  print(f"  {shard.device}: rows {shard.index[0]} -> shape {shard.data.shape}")
assert len(views.sharding.device_set) == jax.device_count()

# %% [markdown]
# **No host-to-device copy during a step.** With `jax.transfer_guard("disallow")`
# any implicit transfer (a NumPy batch, a Python scalar sent to the device)
# raises an error. Once the uint8 batch has been `device_put` (and the key and
# state live on the devices), a whole train step, with its augmentation, runs
# under the guard.

# %%
with jax.transfer_guard("disallow"):
  state, loss = train_step(state, images_u8, labels, key)
print("train step under transfer_guard('disallow'): loss", float(loss))

# %% [markdown]
# ## 3 · `jax.pmap` with an `axis_name`
#
# The same step for code that still uses `pmap`: the state is replicated with a
# leading device axis, the batch is reshaped to `(devices, per_device, ...)`,
# each device augments its own examples (with its own keys, folded from the
# device index) and the gradients are averaged with `lax.pmean` over the axis.
# New code should prefer the `jit` + mesh version above.

# %%
n_dev = jax.local_device_count()
model = Classifier(rngs=nnx.Rngs(0))
optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)
graphdef, state0 = nnx.split((model, optimizer))
pstate = jax.tree.map(lambda x: jnp.stack([x] * n_dev), state0)


def pmap_step(state, images_u8, labels, key):
  model, optimizer = nnx.merge(graphdef, state)
  step_key = jax.random.fold_in(key, optimizer.step[...])
  device_key = jax.random.fold_in(step_key, jax.lax.axis_index("batch"))
  images = augment_batch(device_key, jaxaug.to_float(images_u8))
  loss, grads = nnx.value_and_grad(loss_fn)(model, images, labels)
  grads = jax.lax.pmean(grads, axis_name="batch")
  optimizer.update(model, grads)
  return nnx.state((model, optimizer)), jax.lax.pmean(loss, axis_name="batch")


p_train_step = jax.pmap(pmap_step, axis_name="batch",
                        in_axes=(0, 0, 0, None))


def split_devices(x):
  """(B, ...) -> (devices, B / devices, ...), the layout pmap maps over."""
  return np.reshape(x, (n_dev, -1, *x.shape[1:]))


losses_pmap = []
for step in range(STEPS):
  images_u8, labels = host_batch(step)
  pstate, loss = p_train_step(pstate, split_devices(images_u8),
                              split_devices(labels), jax.random.key(42))
  losses_pmap.append(float(loss[0]))

plt.figure(figsize=(5, 2.5))
plt.plot(losses_jit, label="jit + mesh")
plt.plot(losses_pmap, label="pmap", alpha=0.8)
plt.xlabel("step")
plt.ylabel("training loss")
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### A contrastive loss across devices
#
# Contrastive objectives need the *global* batch of negatives. Under `pmap` (or
# `shard_map`) pass the mapped axis name to the loss:
# `research.objectives.ntxent(z1, z2, temperature=..., axis_name="batch")`
# (it returns `(loss, metrics)`) gathers the other devices' embeddings, so every
# device gets the loss computed on one device over the whole batch. The two
# views of each example are two calls of the augmentation above with different
# keys (what `jaxaug.presets.two_views` does).

# %%
from research.objectives import ntxent

encoder = Classifier(rngs=nnx.Rngs(1))
enc_graphdef, enc_state = nnx.split(encoder)
view1 = preview
view2 = augment_on_mesh(jax.random.key(1), jaxaug.to_float(first_batch))


def embed(state, x):
  return nnx.merge(enc_graphdef, state).features(x)


def per_device_loss(state, v1, v2):
  loss, _ = ntxent(embed(state, v1), embed(state, v2), temperature=0.5,
                   axis_name="batch")
  return loss


def single_device_loss(state, v1, v2):
  loss, _ = ntxent(embed(state, v1), embed(state, v2), temperature=0.5)
  return loss


global_loss = jax.jit(single_device_loss)(enc_state, view1, view2)
sharded_loss = jax.pmap(per_device_loss, axis_name="batch",
                        in_axes=(None, 0, 0))(
                            enc_state, split_devices(view1),
                            split_devices(view2))
print(f"one device, global batch: {float(global_loss):.5f}")
print("pmap over", n_dev, "devices, per device:",
      np.round(np.asarray(sharded_loss), 5))
np.testing.assert_allclose(np.asarray(sharded_loss), float(global_loss),
                           rtol=1e-4)

# %% [markdown]
# ## Take-aways
#
# * Write the augmentation for **one image**, `fn(key, image)`, and lift it with
#   `jaxaug.batch` (or `jax.vmap` over split keys when a magnitude varies per
#   example).
# * Call it **inside** the jitted step on the device batch; ship `uint8` from the
#   host and convert with `jaxaug.to_float` on the device.
# * Keys: `fold_in(key, step)` per step (the optimizer counts steps); under `pmap` also fold in
#   `lax.axis_index` so that devices do not repeat each other.
# * With `jit` + `NamedSharding` nothing else changes between 1 and N devices.
