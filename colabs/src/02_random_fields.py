"""Notebook source (percent format); build with colabs/build_notebooks.py."""

# %% [markdown]
# # 02 · Random fields
#
# Random field augmentations (Mansfield et al., "Random Field Augmentations for
# Self-Supervised Representation Learning", arXiv 2311.03629) replace the single
# rotation angle, scale, shear, translation, hue, saturation or brightness of a
# classic augmentation by a smooth **Gaussian random field** over the pixels:
# every pixel gets its own, smoothly varying, transformation parameter.
#
# This notebook shows
#
# 1. the fields: each spectrum, length scale and anisotropy;
# 2. that they have the covariance they should (measured against the closed
#    form);
# 3. the geometric and colour field augmentations on a photograph, from mild to
#    strong;
# 4. the same under `jax.vmap` with one strength per example.

# %%
# Colab only: install jaxaug (does nothing when run locally or in CI).
import sys

if "google.colab" in sys.modules:
  import subprocess
  subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                  "{PIP_SPEC}"], check=True)

# %%
# Knob: small settings run in well under a minute on a CPU; FULL = True uses
# larger grids, more samples for the covariance and larger images.
FULL = False
GRID = 128 if FULL else 64          # side of the sampled fields
NUM_SAMPLES = 2000 if FULL else 200  # fields averaged for the covariance
SIZE = 256 if FULL else 128         # side of the photograph

# %%
import math

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import sklearn.datasets

import jaxaug
from jaxaug import fields

plt.rcParams["figure.dpi"] = 72 if not FULL else 100


def show(images, titles=None, ncols=6, size=1.8, cmap=None, vmin=None,
         vmax=None):
  """Shows a list of 2-D fields or (H, W, 3) images in a grid."""
  images = [np.asarray(x) for x in images]
  nrows = -(-len(images) // ncols)
  fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                           squeeze=False)
  for ax in axes.flat:
    ax.axis("off")
  for i, (ax, img) in enumerate(zip(axes.flat, images)):
    if img.ndim == 3:
      img = np.clip(img, 0, 1)
    ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax)
    if titles is not None:
      ax.set_title(titles[i], fontsize=8)
  plt.tight_layout()
  plt.show()


def show_fields(fs, titles, ncols=4):
  show(fs, titles, ncols=ncols, cmap="RdBu_r", vmin=-2.5, vmax=2.5)

# %% [markdown]
# ## 1 · The fields
#
# `fields.gaussian_random_field(key, shape, *, length_scale, spectrum, ...)`
# draws a zero-mean field with unit variance (or `variance=`) on a 1-, 2- or
# 3-D grid, by shaping white noise in Fourier space with the square root of the
# spectral density. The grid is padded so that opposite edges are independent
# (`periodic=True` skips that).
#
# **Spectra.** `"gaussian"` (squared-exponential covariance: very smooth),
# `"matern"` with smoothness `nu` (`nu = 0.5` is the rough exponential
# covariance; large `nu` tends to the gaussian), and `"power_law"`
# (S(k) ∝ |k|^-exponent: scale free, structure at every size).

# %%
key = jax.random.key(0)
spectra = [
    ("gaussian", dict(spectrum="gaussian")),
    ("matern ν=0.5", dict(spectrum="matern", nu=0.5)),
    ("matern ν=1.5", dict(spectrum="matern", nu=1.5)),
    ("matern ν=2.5", dict(spectrum="matern", nu=2.5)),
    ("power law α=3", dict(spectrum="power_law", exponent=3.0)),
    ("power law α=4", dict(spectrum="power_law", exponent=4.0)),
]
ell = GRID / 10
show_fields([fields.gaussian_random_field(key, (GRID, GRID), length_scale=ell,
                                          **kw) for _, kw in spectra],
            [name for name, _ in spectra], ncols=6)

# %% [markdown]
# **Length scale** (in pixels) sets the size of the blobs; it is the smoothness
# knob of every random field augmentation.

# %%
scales = [GRID / 32, GRID / 16, GRID / 8, GRID / 4]
show_fields([fields.gaussian_random_field(key, (GRID, GRID), length_scale=s)
             for s in scales], [f"ℓ = {s:g} px" for s in scales])

# %% [markdown]
# **Anisotropy.** One length scale per axis stretches the field; in 2-D `angle`
# rotates the principal axes.

# %%
short, long = GRID / 32, GRID / 6
aniso = [
    ("ℓ = (short, long)", dict(length_scale=(short, long))),
    ("ℓ = (long, short)", dict(length_scale=(long, short))),
    ("rotated 45°", dict(length_scale=(short, long), angle=math.pi / 4)),
    ("isotropic", dict(length_scale=(long + short) / 2)),
]
show_fields([fields.gaussian_random_field(key, (GRID, GRID), **kw)
             for _, kw in aniso], [name for name, _ in aniso])

# %% [markdown]
# ## 2 · Measured covariance against the closed form
#
# `NUM_SAMPLES` independent fields (one call with `channels=`), their empirical
# covariance at lags 0..3ℓ along each axis (`fields.sample_covariance`), and the
# closed form C(r) (`fields.covariance`). Points on the lines mean the sampler
# produces the field it promises, with no wrap-around and the exact variance
# at lag 0.

# %%
ell = 6.0
lags = list(range(0, int(3 * ell) + 1))
r = np.linspace(0, lags[-1], 200)
fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), sharey=True)
for ax, (name, kw) in zip(axes, [("gaussian", dict(spectrum="gaussian")),
                                 ("matern ν=0.5", dict(spectrum="matern",
                                                       nu=0.5)),
                                 ("matern ν=1.5", dict(spectrum="matern",
                                                       nu=1.5))]):
  samples = fields.gaussian_random_field(
      jax.random.key(1), (GRID, GRID), length_scale=ell, channels=NUM_SAMPLES,
      **kw)
  ax.plot(r, fields.covariance(r, length_scale=ell, **kw), "k-", lw=1,
          label="closed form")
  for axis, marker in [(-1, "o"), (-2, "x")]:
    ax.plot(lags, fields.sample_covariance(samples, lags, axis=axis), marker,
            ms=4, label=f"measured, axis {axis}")
  ax.set_title(f"{name}, ℓ = {ell:g} px", fontsize=9)
  ax.set_xlabel("lag r (px)")
axes[0].set_ylabel("C(r)")
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# **No wrap-around.** With `periodic=False` (default) the first and last
# columns are independent; a periodic field (`periodic=True`) joins them up.

# %%
def edge_correlation(periodic):
  f = np.asarray(fields.gaussian_random_field(
      jax.random.key(2), (GRID, GRID), length_scale=GRID / 8,
      channels=NUM_SAMPLES, periodic=periodic))
  return np.corrcoef(f[:, :, 0].ravel(), f[:, :, -1].ravel())[0, 1]


corr = {"periodic=False": edge_correlation(False),
        "periodic=True": edge_correlation(True)}
plt.figure(figsize=(4, 2))
plt.barh(list(corr), list(corr.values()), color=["tab:blue", "tab:orange"])
plt.xlim(-0.1, 1.0)
plt.xlabel("correlation of first and last column")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3 · Field augmentations on a photograph
#
# `jaxaug.random_field_warp(key, image, *, rotation, scale, shear, translation,
# length_scale)`: each magnitude is the standard deviation of its field
# (radians, log-scale, shear, pixels); the displaced image is resampled once.
# `jaxaug.random_field_color(key, image, *, hue, saturation, brightness,
# contrast, length_scale)` does the same for colour. Zero magnitudes give the
# image back exactly.

# %%
photo = jaxaug.to_float(sklearn.datasets.load_sample_image("china.jpg"))
side = min(photo.shape[:2])
image = jnp.clip(jax.image.resize(jaxaug.center_crop(photo, size=(side, side)),
                                  (SIZE, SIZE, 3), "bilinear"), 0.0, 1.0)
length_scale = SIZE / 4


@jax.jit
def warp(key, image, s):
  """A geometric random field warp of strength s (0 = identity)."""
  return jaxaug.random_field_warp(
      key, image, rotation=0.2 * s, scale=0.1 * s, shear=0.1 * s,
      translation=SIZE / 32 * s, length_scale=length_scale)


@jax.jit
def color(key, image, s):
  """A colour random field of strength s (0 = identity)."""
  return jaxaug.random_field_color(
      key, image, hue=0.05 * s, saturation=0.3 * s, brightness=0.15 * s,
      contrast=0.15 * s, length_scale=length_scale)


strengths = [0.0, 0.5, 1.0, 2.0, 4.0]
key = jax.random.key(3)
np.testing.assert_allclose(warp(key, image, 0.0), image, atol=1e-6)
show([warp(key, image, s) for s in strengths]
     + [color(key, image, s) for s in strengths],
     [f"warp, strength {s:g}" for s in strengths]
     + [f"colour, strength {s:g}" for s in strengths], ncols=5, size=2.0)

# %% [markdown]
# One field at a time: what each transformation parameter does when it varies
# over the image.

# %%
one_at_a_time = [
    ("rotation 0.3 rad", dict(rotation=0.3)),
    ("scale 0.2", dict(scale=0.2)),
    ("shear 0.2", dict(shear=0.2)),
    (f"translation {SIZE / 16:g} px", dict(translation=SIZE / 16)),
]
colour_one = [
    ("hue 0.1", dict(hue=0.1)),
    ("saturation 0.6", dict(saturation=0.6)),
    ("brightness 0.3", dict(brightness=0.3)),
    ("contrast 0.3", dict(contrast=0.3)),
]
show([jaxaug.random_field_warp(key, image, length_scale=length_scale, **kw)
      for _, kw in one_at_a_time]
     + [jaxaug.random_field_color(key, image, length_scale=length_scale, **kw)
        for _, kw in colour_one],
     [n for n, _ in one_at_a_time] + [n for n, _ in colour_one], ncols=4,
     size=2.0)

# %% [markdown]
# **Length scale** of a warp: short fields crumple the image locally, long ones
# bend it as a whole.

# %%
scales = [SIZE / 16, SIZE / 8, SIZE / 4, SIZE / 2]
show([jaxaug.random_field_warp(key, image, rotation=0.3, translation=SIZE / 32,
                               length_scale=s) for s in scales],
     [f"ℓ = {s:g} px" for s in scales], ncols=4, size=2.0)

# %% [markdown]
# **Presets.** `jaxaug.presets.random_field(setting)` combines both with the
# settings to start from: `"mild"` (the default, and what the paper found
# helpful), `"medium"`, `"strong"` (which the paper found destroys structure and
# hurts).

# %%
keys = jax.random.split(jax.random.key(4), 3)
settings = ["mild", "medium", "strong"]
out = []
for setting in settings:
  aug = jaxaug.presets.random_field(setting)
  out += [aug(k, image) for k in keys]
show(out, [s for s in settings for _ in keys], ncols=3, size=2.0)

# %% [markdown]
# ## 4 · Per-example strengths under `vmap`
#
# Magnitudes are traced arrays, so one jitted, vmapped call augments a batch
# with a different strength for each example, e.g. a curriculum, or a strength
# sampled per example.

# %%
n = 8
batch = jnp.stack([image] * n)
per_example = jnp.linspace(0.0, 3.0, n)
batch_warp = jax.jit(jax.vmap(warp))
batch_color = jax.jit(jax.vmap(color))
keys = jax.random.split(jax.random.key(5), n)
warped = batch_warp(keys, batch, per_example)
recoloured = batch_color(keys, batch, per_example)
print(warped.shape, warped.dtype)
show(list(warped) + list(recoloured),
     [f"warp {s:.2f}" for s in per_example]
     + [f"colour {s:.2f}" for s in per_example], ncols=8, size=1.4)

# %% [markdown]
# Each example is independent of the others: the same key and strength give the
# same image whether it is computed alone or in the batch.

# %%
alone = warp(keys[5], image, per_example[5])
np.testing.assert_allclose(alone, warped[5], atol=1e-5)
print("max |alone - in batch| =", float(jnp.abs(alone - warped[5]).max()))
