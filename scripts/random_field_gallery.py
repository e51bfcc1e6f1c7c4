"""Draws docs/figures/random_fields.png: random field augmentations at the
mild/medium/strong settings and sample fields for each spectrum.

Run: .venv/bin/python scripts/random_field_gallery.py
"""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_sample_image  # noqa: E402

from jaxaug._src import field_augment as fa  # noqa: E402
from jaxaug._src import fields  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "docs/figures/random_fields.png"
SIZE = 128
FIELDS = ("rotation", "scale", "shear", "translation", "hue", "saturation",
          "brightness", "contrast", "combined")
LEVELS = ("mild", "medium", "strong")


def load_image() -> jax.Array:
  img = load_sample_image("china.jpg").astype(np.float32) / 255.0
  h, w, _ = img.shape
  s = min(h, w)
  img = img[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2]
  img = jax.image.resize(jnp.asarray(img), (SIZE, SIZE, 3), "linear")
  return jnp.clip(img, 0.0, 1.0)


def augment(key, image, field, level):
  if field == "combined":
    return fa.field_augmentation(level)(key, image)
  zero = {n: 0.0 for n in fa.SETTINGS[level] if n != "length_scale_fraction"}
  name = "translation_fraction" if field == "translation" else field
  zero[name] = fa.SETTINGS[level][name]
  return fa.field_augmentation(level, **zero)(key, image)


def main():
  image = load_image()
  ncols = 1 + len(FIELDS)
  fig, axes = plt.subplots(3 + 3, ncols, figsize=(2 * ncols, 2 * 6))
  for r, level in enumerate(LEVELS):
    axes[r, 0].imshow(np.asarray(image))
    axes[r, 0].set_title("original" if r == 0 else "")
    axes[r, 0].set_ylabel(level, fontsize=12)
    for c, field in enumerate(FIELDS):
      out = augment(jax.random.key(10 + c), image, field, level)
      axes[r, c + 1].imshow(np.asarray(out))
      if r == 0:
        axes[r, c + 1].set_title(field)
  specs = [("gaussian", {}), ("matern", dict(nu=0.5)), ("matern", dict(nu=1.5)),
           ("matern", dict(nu=2.5)), ("power_law", dict(exponent=3.0)),
           ("power_law", dict(exponent=4.0))]
  for r, ls in enumerate((4.0, 12.0, 32.0)):
    axes[3 + r, 0].set_ylabel(f"fields, l={ls:g}px", fontsize=10)
    for c, (spec, kw) in enumerate(specs):
      f = fields.gaussian_random_field(jax.random.key(c), (SIZE, SIZE),
                                       length_scale=ls, spectrum=spec, **kw)
      axes[3 + r, c].imshow(np.asarray(f), cmap="RdBu_r", vmin=-2.5, vmax=2.5)
      if r == 0:
        axes[3 + r, c].set_title(spec + "".join(f" {k}={v}" for k, v in kw.items()),
                                 fontsize=8)
    aniso = fields.gaussian_random_field(jax.random.key(7), (SIZE, SIZE),
                                         length_scale=(ls, ls / 4), angle=0.5)
    axes[3 + r, len(specs)].imshow(np.asarray(aniso), cmap="RdBu_r", vmin=-2.5,
                                   vmax=2.5)
    if r == 0:
      axes[3 + r, len(specs)].set_title("gaussian (l, l/4), angle 0.5", fontsize=8)
    for c in range(len(specs) + 1, ncols):
      axes[3 + r, c].axis("off")
  for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
  fig.tight_layout()
  OUT.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(OUT, dpi=80)
  print("wrote", OUT)


if __name__ == "__main__":
  main()
