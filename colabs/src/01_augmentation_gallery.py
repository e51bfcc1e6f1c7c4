"""Notebook source (percent format); build with colabs/build_notebooks.py."""

# %% [markdown]
# # 01 · Augmentation gallery
#
# Every jaxaug op on a real photograph, then on a batch: how to call them, how to
# compose them, how to run them under `jax.jit` and `jax.vmap`, and the SimCLR
# two-view preset.
#
# The contract, once: an image is `(H, W, C)` float in `[0, 1]`; random ops are
# `random_x(key, image, *, ...)` (key first, options keyword-only) beside a
# deterministic `x(image, ...)` / `adjust_x(image, ...)`; outputs keep shape and
# dtype and stay in `[0, 1]`. Batches: `jaxaug.batch(fn)` or `jax.vmap` over
# split keys.

# %%
# Colab only: install jaxaug (does nothing when run locally or in CI).
import sys

if "google.colab" in sys.modules:
  import subprocess
  subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                  "{PIP_SPEC}"], check=True)

# %%
# Knob: small images render fast on a CPU; FULL = True shows 224 x 224 images.
FULL = False
SIZE = 224 if FULL else 96

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import sklearn.datasets

import jaxaug

plt.rcParams["figure.dpi"] = 72 if not FULL else 100


def show(images, titles=None, ncols=6, size=1.6):
  """Shows a list of (H, W, C) images in a grid, with small titles."""
  images = [np.asarray(x) for x in images]
  nrows = -(-len(images) // ncols)
  fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                           squeeze=False)
  for ax in axes.flat:
    ax.axis("off")
  for i, (ax, img) in enumerate(zip(axes.flat, images)):
    if img.shape[-1] == 1:
      ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
      ax.imshow(np.clip(img, 0, 1))
    if titles is not None:
      ax.set_title(titles[i], fontsize=8)
  plt.tight_layout()
  plt.show()

# %% [markdown]
# ## The photograph
#
# scikit-learn ships two sample photographs (no download). `jaxaug.to_float`
# turns `uint8` in `[0, 255]` into float32 in `[0, 1]`.

# %%
photo = jaxaug.to_float(sklearn.datasets.load_sample_image("china.jpg"))
side = min(photo.shape[:2])
image = jaxaug.center_crop(photo, size=(side, side))
image = jax.image.resize(image, (SIZE, SIZE, 3), "bilinear")
image = jnp.clip(image, 0.0, 1.0)
print(photo.shape, "->", image.shape, image.dtype,
      f"values in [{float(image.min()):.2f}, {float(image.max()):.2f}]")
show([photo, image], ["china.jpg", f"{SIZE}x{SIZE} centre crop"], ncols=2,
     size=2.5)

# %% [markdown]
# ## Geometric ops
#
# Deterministic ops take their parameters directly (they may be traced arrays,
# e.g. one angle per example under `vmap`). Everything that moves pixels goes
# through one shared resampler (`jaxaug.map_coordinates`: nearest, bilinear,
# bicubic; boundary modes reflect / constant / edge / wrap).
#
# Each figure below is one `jax.jit`-compiled function: every op is a pure JAX
# function, so a whole list of them compiles into one XLA program.

# %%
q = SIZE // 4


@jax.jit
def geometric(image):
  return [
    image,
    jaxaug.flip_left_right(image),
    jaxaug.flip_up_down(image),
    jaxaug.rot90(image, k=1),
    jaxaug.rotate(image, 0.4),
    jaxaug.rotate(image, 0.4, mode="constant"),
    jaxaug.translate(image, (q // 2, -q)),
    jaxaug.scale(image, 1.4),
    jaxaug.shear(image, 0.3),
    jaxaug.affine_transform(image, jnp.array([[1.0, 0.2, -q / 2],
                                              [0.1, 0.9, 0.0],
                                              [0.0, 0.0, 1.0]])),
    jaxaug.resized_crop(image, (q, q, 2 * q, 2 * q), size=SIZE),
    jaxaug.pad(jaxaug.center_crop(image, size=SIZE - 2 * (q // 2)), q // 2,
               mode="reflect"),
  ]


show(geometric(image), ["original", "flip_left_right", "flip_up_down", "rot90", "rotate 0.4",
    "rotate, constant", "translate", "scale 1.4", "shear 0.3",
    "affine_transform", "resized_crop", "center_crop + pad"])

# %% [markdown]
# Their random twins draw the parameters from a key. One key, one draw: split
# keys rather than reusing them.

# %%
@jax.jit
def random_geometric(key, image):
  keys = jax.random.split(key, 12)
  return [
    jaxaug.random_flip_left_right(keys[0], image, probability=1.0),
    jaxaug.random_flip_up_down(keys[1], image, probability=1.0),
    jaxaug.random_rot90(keys[2], image),
    jaxaug.random_rotate(keys[3], image),
    jaxaug.random_affine(keys[4], image, shear=(-0.2, 0.2),
                         translation_fraction=(-0.1, 0.1)),
    jaxaug.random_translate(keys[5], image),
    jaxaug.random_scale(keys[6], image),
    jaxaug.random_shear(keys[7], image),
    jaxaug.random_resized_crop(keys[8], image, size=SIZE),
    jaxaug.random_resized_crop(keys[9], image, size=SIZE),
    jaxaug.random_crop(keys[10], image, size=SIZE // 2),
    jaxaug.random_crop(keys[11], image, size=SIZE // 2),
  ]


show(random_geometric(jax.random.key(0), image), ["random_flip_left_right", "random_flip_up_down", "random_rot90",
    "random_rotate", "random_affine", "random_translate", "random_scale",
    "random_shear", "random_resized_crop", "random_resized_crop",
    "random_crop", "random_crop"])

# %% [markdown]
# ## Colour ops

# %%
@jax.jit
def colour(image):
  return [
    image,
    jaxaug.adjust_brightness(image, 0.25),
    jaxaug.adjust_contrast(image, 2.0),
    jaxaug.adjust_saturation(image, 2.5),
    jaxaug.adjust_hue(image, 0.3),
    jaxaug.adjust_gamma(image, 0.5),
    jaxaug.rgb_to_grayscale(image),
    jaxaug.solarize(image, threshold=0.5),
    jaxaug.posterize(image, 2),
    jaxaug.equalize(image),
    jaxaug.autocontrast(image * 0.5 + 0.25),
    jaxaug.invert(image),
    jaxaug.adjust_sharpness(image, 4.0),
    jaxaug.hsv_to_rgb(jaxaug.rgb_to_hsv(image)),
    jaxaug.rgb_to_hsv(image)[..., :1],
    jaxaug.gaussian_blur(image, 1.0),
    jaxaug.gaussian_blur(image, 3.0),
    jaxaug.cutout(image, (q, q, q, 2 * q), value=0.5),
  ]


show(colour(image), ["original", "adjust_brightness", "adjust_contrast", "adjust_saturation",
    "adjust_hue", "adjust_gamma", "rgb_to_grayscale", "solarize", "posterize 2",
    "equalize", "autocontrast (dim input)", "invert", "adjust_sharpness",
    "hsv round trip", "hue channel", "gaussian_blur 1", "gaussian_blur 3",
    "cutout"])

# %%
@jax.jit
def random_colour(key, image):
  keys = jax.random.split(key, 12)
  return [
    jaxaug.random_brightness(keys[0], image, delta=(-0.3, 0.3)),
    jaxaug.random_contrast(keys[1], image, factor=(0.3, 2.0)),
    jaxaug.random_saturation(keys[2], image, factor=(0.0, 3.0)),
    jaxaug.random_hue(keys[3], image, delta=(-0.5, 0.5)),
    jaxaug.random_gamma(keys[4], image),
    jaxaug.random_grayscale(keys[5], image, probability=1.0),
    jaxaug.random_solarize(keys[6], image, probability=1.0),
    jaxaug.random_sharpness(keys[7], image, factor=(0.0, 4.0)),
    jaxaug.random_gaussian_blur(keys[8], image),
    jaxaug.random_erasing(keys[9], image, probability=1.0),
    jaxaug.color_jitter(keys[10], image, brightness=0.4, contrast=0.4,
                        saturation=0.4, hue=0.1),
    jaxaug.color_jitter(keys[11], image, brightness=0.4, contrast=0.4,
                        saturation=0.4, hue=0.1),
  ]


show(random_colour(jax.random.key(1), image), ["random_brightness", "random_contrast", "random_saturation", "random_hue",
    "random_gamma", "random_grayscale", "random_solarize", "random_sharpness",
    "random_gaussian_blur", "random_erasing", "color_jitter", "color_jitter"])

# %% [markdown]
# ## Policies: RandAugment and TrivialAugment
#
# Both pick ops at random per image, with a `lax.switch` inside, so they work
# under `jit` and `vmap` like everything else.

# %%
keys = jax.random.split(jax.random.key(2), 6)
policies = jax.jit(lambda keys, image: (
    jax.vmap(lambda k: jaxaug.rand_augment(k, image, num_ops=2,
                                           magnitude=9))(keys),
    jax.vmap(lambda k: jaxaug.trivial_augment(k, image))(keys)))
ra, ta = policies(keys, image)
show(list(ra) + list(ta), ["rand_augment"] * 6 + ["trivial_augment"] * 6)

# %% [markdown]
# ## Composition
#
# `chain`, `with_probability`, `one_of` and `in_random_order` combine
# augmentations `fn(key, image) -> image` into a new one; options are bound
# with a `lambda` (or `functools.partial`). `chain` fuses consecutive
# geometric ops into a single resampling pass.

# %%
pipeline = jaxaug.chain(
    lambda k, x: jaxaug.random_resized_crop(k, x, size=SIZE, area=(0.3, 1.0)),
    jaxaug.random_flip_left_right,
    jaxaug.with_probability(
        jaxaug.in_random_order(
            lambda k, x: jaxaug.random_brightness(k, x, delta=(-0.3, 0.3)),
            lambda k, x: jaxaug.random_saturation(k, x, factor=(0.2, 2.0)),
            lambda k, x: jaxaug.random_hue(k, x, delta=(-0.1, 0.1))),
        0.8),
    jaxaug.one_of(
        lambda k, x: x,
        lambda k, x: jaxaug.random_gaussian_blur(k, x, sigma=(1.0, 2.0)),
        lambda k, x: jaxaug.random_grayscale(k, x, probability=1.0)),
)

# A batch: the photo 8 times. `jaxaug.batch` splits the key (one per example)
# and vmaps; wrapping it in jax.jit compiles the whole pipeline once.
images = jnp.stack([image] * 8)
augment_batch = jax.jit(jaxaug.batch(pipeline))
out = augment_batch(jax.random.key(3), images)
print(out.shape, out.dtype, f"[{float(out.min()):.2f}, {float(out.max()):.2f}]")
show(out, ncols=8, size=1.3)

# %% [markdown]
# ## Per-example magnitudes under `vmap`
#
# Magnitudes are ordinary (traced) arrays, so one call can rotate, blur or
# brighten every example by its own amount.

# %%
angles = jnp.linspace(-0.6, 0.6, 8)
sigmas = jnp.linspace(0.1, 4.0, 8)
deltas = jnp.linspace(-0.4, 0.4, 8)
rotated = jax.jit(jax.vmap(jaxaug.rotate))(images, angles)
blurred = jax.jit(jax.vmap(lambda x, s: jaxaug.gaussian_blur(
    x, s, kernel_size=31)))(images, sigmas)
brightened = jax.vmap(jaxaug.adjust_brightness)(images, deltas)
show(list(rotated) + list(blurred) + list(brightened),
     [f"angle {a:.2f}" for a in angles] + [f"sigma {s:.1f}" for s in sigmas]
     + [f"delta {d:+.2f}" for d in deltas], ncols=8, size=1.3)

# %% [markdown]
# ## Batch-level mixing: mixup, CutMix, ResizeMix
#
# These take a batch and its labels and return mixed images with soft labels.

# %%
@jax.jit
def mix_all(key, images):
  crop_key, mix_key = jax.random.split(key)
  crops = jaxaug.batch(lambda k, x: jaxaug.random_resized_crop(
      k, x, size=SIZE, area=(0.1, 0.3)))(crop_key, images)
  labels = jnp.arange(len(images))
  return crops, [fn(mix_key, crops, labels, num_classes=len(images))
                 for fn in (jaxaug.mixup, jaxaug.cutmix, jaxaug.resizemix)]


crops, mixes = mix_all(jax.random.key(4), images[:4])
rows, titles = [], []
for name, (mixed, soft) in zip(["mixup", "cutmix", "resizemix"], mixes):
  rows += list(mixed)
  titles += [f"{name} {np.round(np.asarray(s), 2)}" for s in soft]
show(list(crops) + rows, [f"input, label {i}" for i in range(4)] + titles,
     ncols=4, size=2.0)

# %% [markdown]
# ## SimCLR: two views of every image
#
# `jaxaug.presets.simclr(size)` is the ImageNet recipe of SimCLR (random resized
# crop, flip, colour jitter with p = 0.8, grayscale with p = 0.2, Gaussian blur
# with p = 0.5); `simclr_cifar` drops the blur. `two_views(key, images, aug)`
# returns two independently augmented batches: the positive pairs of a
# contrastive loss.

# %%
aug = jaxaug.presets.simclr(SIZE)
view1, view2 = jax.jit(lambda k, x: jaxaug.presets.two_views(k, x, aug))(
    jax.random.key(6), images[:6])
show(list(view1) + list(view2),
     [f"view 1, image {i}" for i in range(6)] + [f"view 2, image {i}"
                                                  for i in range(6)])

# %% [markdown]
# ## Next: random field augmentations
#
# Instead of one rotation, scale or hue for the whole image, each can be a
# smooth random field over the pixels: `jaxaug.random_field_warp`,
# `jaxaug.random_field_color`, `jaxaug.presets.field_augmentation("mild")`, and
# the `random_field=` option of the SimCLR presets. Notebook
# `02_random_fields.ipynb` shows the fields and strengths from mild to strong.
