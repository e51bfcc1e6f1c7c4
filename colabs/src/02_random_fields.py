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
    ("matern ν=2.5", dict(spectrum="matern", nu=2.5)),
    ("power law α=3", dict(spectrum="power_law", exponent=3.0)),
]
ell = GRID / 10


@jax.jit
def sample_spectra(key):
  # One compiled program for the whole figure; spectrum and nu are static.
  return jnp.stack([fields.gaussian_random_field(key, (GRID, GRID),
                                                 length_scale=ell, **kw)
                    for _, kw in spectra])


show_fields(sample_spectra(key), [name for name, _ in spectra])

# %% [markdown]
# **Length scale** (in pixels) sets the size of the blobs; it is the smoothness
# knob of every random field augmentation. It may be a traced array: here one
# `vmap`ped call draws all four (`max_length_scale` / `min_length_scale` tell
# the sampler the range, for its padding and band limit).

# %%
scales = jnp.array([GRID / 32, GRID / 16, GRID / 8, GRID / 4])
by_scale = jax.jit(jax.vmap(lambda s: fields.gaussian_random_field(
    key, (GRID, GRID), length_scale=s, max_length_scale=GRID / 4,
    min_length_scale=GRID / 32)))(scales)
show_fields(by_scale, [f"ℓ = {s:g} px" for s in scales])

# %% [markdown]
# **Anisotropy.** One length scale per axis stretches the field; in 2-D `angle`
# rotates the principal axes.

# %%
short, long = GRID / 32, GRID / 6
mid = (short + long) / 2
aniso_names = ["ℓ = (short, long)", "ℓ = (long, short)", "(short, long), 45°",
               "isotropic"]
aniso_scales = jnp.array([[short, long], [long, short], [short, long],
                          [mid, mid]])
aniso_angles = jnp.array([0.0, 0.0, math.pi / 4, 0.0])
aniso = jax.jit(jax.vmap(lambda s, a: fields.gaussian_random_field(
    key, (GRID, GRID), length_scale=s, angle=a, max_length_scale=long,
    min_length_scale=short)))(aniso_scales, aniso_angles)
show_fields(aniso, aniso_names)

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
measure = jax.jit(lambda f: [fields.sample_covariance(f, lags, axis=axis)
                             for axis in (-1, -2)])
samples = {}
fig, axes = plt.subplots(1, 2, figsize=(7.5, 2.8), sharey=True)
for ax, (name, kw) in zip(axes, [("gaussian", dict(spectrum="gaussian")),
                                 ("matern ν=0.5", dict(spectrum="matern",
                                                       nu=0.5))]):
  samples[name] = jax.jit(lambda key: fields.gaussian_random_field(
      key, (GRID, GRID), length_scale=ell, channels=NUM_SAMPLES, **kw))(
          jax.random.key(1))
  ax.plot(r, fields.covariance(r, length_scale=ell, **kw), "k-", lw=1,
          label="closed form")
  for measured, axis, marker in zip(measure(samples[name]), (-1, -2), "ox"):
    ax.plot(lags, measured, marker, ms=4, label=f"measured, axis {axis}")
  ax.set_title(f"{name}, ℓ = {ell:g} px", fontsize=9)
  ax.set_xlabel("lag r (px)")
axes[0].set_ylabel("C(r)")
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# **No wrap-around.** With `periodic=False` (default) the first and last
# columns are independent; a periodic field (`periodic=True`) joins them up
# (same ℓ, as the gaussian fields above).

# %%
def edge_correlation(f):
  f = np.asarray(f)
  return np.corrcoef(f[:, :, 0].ravel(), f[:, :, -1].ravel())[0, 1]


periodic = jax.jit(lambda key: fields.gaussian_random_field(
    key, (GRID, GRID), length_scale=ell, channels=NUM_SAMPLES,
    periodic=True))(jax.random.key(2))
corr = {"periodic=False": edge_correlation(samples["gaussian"]),
        "periodic=True": edge_correlation(periodic)}
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
N = 8  # every figure below is one batch of 8: one compiled program each


def warp_one(key, image, magnitudes, length_scale):
  """magnitudes: (rotation rad, log-scale, shear, translation px)."""
  rotation, scale, shear, translation = magnitudes
  return jaxaug.random_field_warp(
      key, image, rotation=rotation, scale=scale, shear=shear,
      translation=translation, length_scale=length_scale)


def color_one(key, image, magnitudes, length_scale):
  """magnitudes: (hue turns, log-saturation, log-brightness, log-contrast)."""
  hue, saturation, brightness, contrast = magnitudes
  return jaxaug.random_field_color(
      key, image, hue=hue, saturation=saturation, brightness=brightness,
      contrast=contrast, length_scale=length_scale)


# Magnitudes and length scales are traced, so one jit(vmap(...)) serves every
# figure: each example has its own key, strengths and length scale.
warp_batch = jax.jit(jax.vmap(warp_one, in_axes=(0, None, 0, 0)))
color_batch = jax.jit(jax.vmap(color_one, in_axes=(0, None, 0, 0)))

# The magnitudes of the "mild" preset (its translation_fraction times the
# side gives the translation in pixels): rotation, scale, shear, translation /
# hue, saturation, brightness, contrast.
MILD_WARP = np.array([0.06, 0.05, 0.05, 0.01 * SIZE])
MILD_COLOR = np.array([0.02, 0.15, 0.08, 0.08])
length_scale = SIZE / 4

strengths = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0])
same_key = jnp.stack([jax.random.key(3)] * N)
ells = np.full(N, length_scale)
warped = warp_batch(same_key, image, strengths[:, None] * MILD_WARP, ells)
recoloured = color_batch(same_key, image, strengths[:, None] * MILD_COLOR, ells)
np.testing.assert_allclose(warped[0], image, atol=1e-6)   # strength 0
show(list(warped) + list(recoloured),
     [f"warp ×{s:g}" for s in strengths]
     + [f"colour ×{s:g}" for s in strengths], ncols=8, size=1.5)

# %% [markdown]
# One field at a time, at 1× and 4× the mild magnitude: what each
# transformation parameter does when it varies over the image.

# %%
one_hot = np.repeat(np.eye(4), 2, axis=0) * np.tile([1.0, 4.0], 4)[:, None]
warp_names = ["rotation", "scale", "shear", "translation"]
color_names = ["hue", "saturation", "brightness", "contrast"]
show(list(warp_batch(same_key, image, one_hot * MILD_WARP, ells))
     + list(color_batch(same_key, image, one_hot * MILD_COLOR, ells)),
     [f"{n} ×{m:g}" for n in warp_names for m in (1, 4)]
     + [f"{n} ×{m:g}" for n in color_names for m in (1, 4)],
     ncols=8, size=1.5)

# %% [markdown]
# **Length scale** of a warp: short fields crumple the image locally, long ones
# bend it as a whole (rotation and translation at 4× mild).

# %%
scales = SIZE / np.array([32, 24, 16, 12, 8, 6, 4, 2])
show(warp_batch(same_key, image, np.tile(4 * MILD_WARP * [1, 0, 0, 1], (N, 1)),
                scales),
     [f"ℓ = {s:.0f} px" for s in scales], ncols=8, size=1.5)

# %% [markdown]
# **Presets.** `jaxaug.presets.field_augmentation(setting)` combines both with
# the settings to start from: `"mild"` (the default, and what the paper found
# helpful), `"medium"`, `"strong"` (which the paper found destroys structure
# and hurts).

# %%
keys = jax.random.split(jax.random.key(4), 3)
# Each setting compiles its own program; the small run skips "medium".
settings = ["mild", "medium", "strong"] if FULL else ["mild", "strong"]
out = []
for setting in settings:
  aug = jaxaug.presets.field_augmentation(setting)
  out += list(jax.jit(jax.vmap(aug, in_axes=(0, None)))(keys, image))
show(out, [s for s in settings for _ in keys], ncols=3, size=2.0)

# %% [markdown]
# ## 4 · Per-example strengths under `vmap`
#
# Magnitudes are traced arrays, so one jitted, vmapped call augments a batch
# with a different strength for each example, e.g. a curriculum, or a strength
# sampled per example.

# %%
keys = jax.random.split(jax.random.key(5), N)
per_example = np.linspace(0.0, 6.0, N)
warped = warp_batch(keys, image, per_example[:, None] * MILD_WARP, ells)
recoloured = color_batch(keys, image, per_example[:, None] * MILD_COLOR, ells)
print(warped.shape, warped.dtype)
show(list(warped) + list(recoloured),
     [f"warp ×{s:.2f}" for s in per_example]
     + [f"colour ×{s:.2f}" for s in per_example], ncols=8, size=1.5)

# %% [markdown]
# Each example is independent of the others: the same key and strength give the
# same image whether it is computed alone or in the batch.

# %%
alone = jax.jit(warp_one)(keys[5], image, per_example[5] * MILD_WARP,
                          length_scale)
print("max |alone - in batch| =", float(jnp.abs(alone - warped[5]).max()))
np.testing.assert_allclose(alone, warped[5], atol=1e-5)
