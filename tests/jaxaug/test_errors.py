"""Every documented input error, triggered, and the docs table built from them.

Each case calls a public function with one bad argument and checks that it
raises the documented exception type with a message naming the argument.
`docs/errors.md` is generated from these cases (argument, bad value,
message); the test fails when the file is out of date. Regenerate with

    JAXAUG_WRITE_DOCS=1 .venv/bin/python -m pytest tests/jaxaug/test_errors.py
"""

import os
import pathlib

import jax
import jax.numpy as jnp
import jaxaug
from jaxaug import fields
from jaxaug import presets
import numpy as np
import pytest

KEY = jax.random.key(0)
IMG = jnp.full((8, 8, 3), 0.5)
RAMP = jnp.linspace(0, 1, 8 * 8 * 3).reshape(8, 8, 3)
BATCH = jnp.full((4, 8, 8, 3), 0.5)
LABELS = jnp.arange(4) % 2
DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "errors.md"

# (function, argument, bad value as shown in the docs, exception, call).
CASES = [
    ("rotate", "image", "shape (8, 8)", ValueError,
     lambda: jaxaug.rotate(IMG[..., 0], 0.1)),
    ("rotate", "image", "dtype uint8", TypeError,
     lambda: jaxaug.rotate(jnp.zeros((8, 8, 3), jnp.uint8), 0.1)),
    ("rotate", "image", "shape (0, 8, 3)", ValueError,
     lambda: jaxaug.rotate(jnp.zeros((0, 8, 3)), 0.1)),
    ("rotate", "image", "values in [-1, 1]", ValueError,
     lambda: jaxaug.rotate(RAMP * 2 - 1, 0.1)),
    ("rotate", "image", "values in [0, 255]", ValueError,
     lambda: jaxaug.rotate(RAMP * 255, 0.1)),
    ("rotate", "order", "2", ValueError,
     lambda: jaxaug.rotate(IMG, 0.1, order=2)),
    ("rotate", "mode", "'bogus'", ValueError,
     lambda: jaxaug.rotate(IMG, 0.1, mode="bogus")),
    ("affine_transform", "matrix", "shape (3, 2)", ValueError,
     lambda: jaxaug.affine_transform(IMG, jnp.ones((3, 2)))),
    ("random_flip_left_right", "probability", "1.5", ValueError,
     lambda: jaxaug.random_flip_left_right(KEY, IMG, probability=1.5)),
    ("random_crop", "size", "(9, 9) on an 8x8 image", ValueError,
     lambda: jaxaug.random_crop(KEY, IMG, size=(9, 9))),
    ("random_crop", "size", "(2.5, 2)", TypeError,
     lambda: jaxaug.random_crop(KEY, IMG, size=(2.5, 2))),
    ("rotate", "angle", "nan", ValueError,
     lambda: jaxaug.rotate(IMG, float("nan"))),
    ("rotate", "channel_axis", "5 on an (H, W, C) image", ValueError,
     lambda: jaxaug.rotate(IMG, 0.1, channel_axis=5)),
    ("flip_left_right", "channel_axis", "1.5", TypeError,
     lambda: jaxaug.flip_left_right(IMG, channel_axis=1.5)),
    ("shear", "shear", "nan", ValueError,
     lambda: jaxaug.shear(IMG, float("nan"))),
    ("translate", "translation", "(inf, 0)", ValueError,
     lambda: jaxaug.translate(IMG, (float("inf"), 0))),
    ("center_crop", "size", "0", ValueError,
     lambda: jaxaug.center_crop(IMG, size=0)),
    ("random_resized_crop", "size", "(0, 4)", ValueError,
     lambda: jaxaug.random_resized_crop(KEY, IMG, size=(0, 4))),
    ("random_resized_crop", "area", "(0.5, 0.1)", ValueError,
     lambda: jaxaug.random_resized_crop(KEY, IMG, size=4, area=(0.5, 0.1))),
    ("adjust_hue", "image", "2 channels", ValueError,
     lambda: jaxaug.adjust_hue(IMG[..., :2], 0.1)),
    ("rgb_to_hsv", "image", "4 channels", ValueError,
     lambda: jaxaug.rgb_to_hsv(jnp.zeros((8, 8, 4)))),
    ("adjust_hue", "delta", "nan", ValueError,
     lambda: jaxaug.adjust_hue(IMG, float("nan"))),
    ("adjust_brightness", "delta", "nan", ValueError,
     lambda: jaxaug.adjust_brightness(IMG, float("nan"))),
    ("adjust_contrast", "factor", "nan", ValueError,
     lambda: jaxaug.adjust_contrast(IMG, float("nan"))),
    ("adjust_sharpness", "factor", "inf", ValueError,
     lambda: jaxaug.adjust_sharpness(IMG, float("inf"))),
    ("posterize", "bits", "2.5", TypeError,
     lambda: jaxaug.posterize(IMG, 2.5)),
    ("color_jitter", "brightness", "-1.0", ValueError,
     lambda: jaxaug.color_jitter(KEY, IMG, brightness=-1.0)),
    ("random_grayscale", "probability", "-0.1", ValueError,
     lambda: jaxaug.random_grayscale(KEY, IMG, probability=-0.1)),
    ("gaussian_blur", "sigma", "-1.0", ValueError,
     lambda: jaxaug.gaussian_blur(IMG, -1.0, kernel_size=3)),
    ("gaussian_blur", "kernel_size", "4", ValueError,
     lambda: jaxaug.gaussian_blur(IMG, 1.0, kernel_size=4)),
    ("random_erasing", "probability", "2.0", ValueError,
     lambda: jaxaug.random_erasing(KEY, IMG, probability=2.0)),
    ("mixup", "alpha", "0.0", ValueError,
     lambda: jaxaug.mixup(KEY, BATCH, LABELS, alpha=0.0, num_classes=2)),
    ("mixup", "labels", "shape (3,) for 4 images", ValueError,
     lambda: jaxaug.mixup(KEY, BATCH, LABELS[:3], num_classes=2)),
    ("mixup", "labels", "[0, 5] with num_classes=3", ValueError,
     lambda: jaxaug.mixup(KEY, BATCH[:2], jnp.array([0, 5]), num_classes=3)),
    ("cutmix", "images", "shape (8, 8, 3)", ValueError,
     lambda: jaxaug.cutmix(KEY, IMG, LABELS, num_classes=2)),
    ("rand_augment", "num_ops", "-1", ValueError,
     lambda: jaxaug.rand_augment(KEY, IMG, num_ops=-1)),
    ("rand_augment", "magnitude", "array of shape (1,)", ValueError,
     lambda: jaxaug.rand_augment(KEY, IMG, magnitude=np.array([9.]))),
    ("rand_augment", "magnitude", "'9' (a string)", TypeError,
     lambda: jaxaug.rand_augment(KEY, IMG, magnitude="9")),
    ("rand_augment", "magnitude", "True", TypeError,
     lambda: jaxaug.rand_augment(KEY, IMG, magnitude=True)),
    ("rand_augment", "magnitude", "None", TypeError,
     lambda: jaxaug.rand_augment(KEY, IMG, magnitude=None)),
    ("with_probability", "probability", "1.5", ValueError,
     lambda: jaxaug.with_probability(jaxaug.random_flip_left_right, 1.5)),
    ("batch", "images", "shape (8, 8, 3)", ValueError,
     lambda: jaxaug.batch(jaxaug.random_flip_left_right)(KEY, IMG)),
    ("to_float", "images", "dtype bool", TypeError,
     lambda: jaxaug.to_float(jnp.zeros((2, 2), bool))),
    ("to_float", "max_value", "0", ValueError,
     lambda: jaxaug.to_float(IMG, max_value=0)),
    ("normalize", "std", "0.0", ValueError,
     lambda: jaxaug.normalize(IMG, 0.5, 0.0)),
    ("denormalize", "mean", "4 values for 3 channels", ValueError,
     lambda: jaxaug.denormalize(IMG, jnp.zeros(4), 1.0)),
    ("cutout", "value", "2.0", ValueError,
     lambda: jaxaug.cutout(IMG, (0, 0, 2, 2), value=2.0)),
    ("pad", "cval", "-0.5", ValueError,
     lambda: jaxaug.pad(IMG, 1, cval=-0.5)),
    ("fields.gaussian_random_field", "length_scale", "0.0", ValueError,
     lambda: fields.gaussian_random_field(KEY, (8, 8), length_scale=0.0)),
    ("fields.gaussian_random_field", "variance", "-1.0", ValueError,
     lambda: fields.gaussian_random_field(KEY, (8, 8), length_scale=2.,
                                          variance=-1.0)),
    ("fields.gaussian_random_field", "spectrum", "'cauchy'", ValueError,
     lambda: fields.gaussian_random_field(KEY, (8, 8), length_scale=2.,
                                          spectrum="cauchy")),
    ("fields.gaussian_random_field", "nu", "0.0", ValueError,
     lambda: fields.gaussian_random_field(KEY, (8, 8), length_scale=2.,
                                          spectrum="matern", nu=0.0)),
    ("fields.gaussian_random_field", "method", "'FFT'", ValueError,
     lambda: fields.gaussian_random_field(KEY, (8, 8), length_scale=2.,
                                          method="FFT")),
    ("color_jitter", "hue", "0.7", ValueError,
     lambda: jaxaug.color_jitter(KEY, IMG, hue=0.7)),
    ("color_jitter", "convention", "'pil'", ValueError,
     lambda: jaxaug.color_jitter(KEY, IMG, convention="pil")),
    ("random_field_warp", "length_scale", "-1.0 (all magnitudes 0)",
     ValueError,
     lambda: jaxaug.random_field_warp(KEY, IMG, length_scale=-1.0)),
    ("random_field_color", "spectrum", "'cauchy' (all magnitudes 0)",
     ValueError,
     lambda: jaxaug.random_field_color(KEY, IMG, spectrum="cauchy")),
    ("color_jitter", "brightness", "(0.5, 1.5)", ValueError,
     lambda: jaxaug.color_jitter(KEY, IMG, brightness=(0.5, 1.5))),
    ("color_jitter", "hue", "(-0.1, 0.1)", ValueError,
     lambda: jaxaug.color_jitter(KEY, IMG, hue=(-0.1, 0.1))),
    ("solarize", "threshold", "(0.2, 0.5) for 3 channels", ValueError,
     lambda: jaxaug.solarize(IMG, threshold=(0.2, 0.5))),
    ("presets.simclr", "strength", "[1.0]", ValueError,
     lambda: presets.simclr(8, strength=[1.0])),
    ("batch", "chunk_size", "0", ValueError,
     lambda: jaxaug.batch(jaxaug.random_flip_left_right, chunk_size=0)),
    ("presets.two_views", "chunk_size", "3 for 4 images", ValueError,
     lambda: presets.two_views(KEY, BATCH, jaxaug.random_flip_left_right,
                               chunk_size=3)),
    ("fields.gaussian_random_field", "angle", "nan", ValueError,
     lambda: fields.gaussian_random_field(KEY, (8, 8), length_scale=2.,
                                          angle=float("nan"))),
    ("fields.gaussian_random_field", "shape", "(0, 8)", ValueError,
     lambda: fields.gaussian_random_field(KEY, (0, 8), length_scale=2.)),
    ("fields.gaussian_random_field", "shape", "(2, 2, 2, 2)", ValueError,
     lambda: fields.gaussian_random_field(KEY, (2, 2, 2, 2), length_scale=2.)),
    ("random_field_warp", "length_scale", "-1.0", ValueError,
     lambda: jaxaug.random_field_warp(KEY, IMG, rotation=0.1,
                                      length_scale=-1.0)),
    ("random_field_color", "image", "2 channels", ValueError,
     lambda: jaxaug.random_field_color(KEY, IMG[..., :2], hue=0.1)),
    ("presets.simclr", "size", "0", ValueError,
     lambda: presets.simclr(0)),
    ("presets.simclr", "convention", "'pil'", ValueError,
     lambda: presets.simclr(8, convention="pil")),
    ("presets.field_augmentation", "setting", "'extreme'", ValueError,
     lambda: presets.field_augmentation("extreme")),
    ("presets.field_augmentation", "length_scale_fraction", "0.0",
     ValueError, lambda: presets.field_augmentation(
         "mild", length_scale_fraction=0.0)),
]


def _message(case):
  _, _, _, exc, call = case
  with pytest.raises(exc) as info:
    call()
  return str(info.value).splitlines()[0]


@pytest.mark.parametrize("case", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_error_names_the_argument(case):
  name, argument, _, _, _ = case
  message = _message(case)
  assert f"{argument}" in message, (
      f"{name}: error for `{argument}` does not name it: {message!r}")


def _render():
  lines = [
      "# Input errors",
      "",
      "Generated by `tests/jaxaug/test_errors.py` from calls that trigger each",
      "error (the test fails when this file is out of date). Errors are raised",
      "at trace time; values that are traced inside `jit`/`vmap` cannot be",
      "checked and are instead made safe (clipped) by the ops.",
      "",
      "| function | argument | bad value | exception | message |",
      "|---|---|---|---|---|",
  ]
  for case in CASES:
    name, argument, bad, exc, _ = case
    msg = _message(case).replace("|", "\\|")
    lines.append(f"| `{name}` | `{argument}` | {bad} | `{exc.__name__}` | "
                 f"{msg} |")
  return "\n".join(lines) + "\n"


def test_docs_table_is_current():
  text = _render()
  if os.environ.get("JAXAUG_WRITE_DOCS"):
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
  assert DOC.exists(), "docs/errors.md missing: run with JAXAUG_WRITE_DOCS=1"
  assert DOC.read_text() == text, (
      "docs/errors.md is out of date: run with JAXAUG_WRITE_DOCS=1")


def test_no_silent_nan_on_degenerate_input():
  # Zero-variance, all-black/all-white images, sigma 0, zero-area boxes.
  ops = [
      lambda x: jaxaug.adjust_contrast(x, 2.0), jaxaug.autocontrast,
      jaxaug.equalize, jaxaug.rgb_to_hsv,
      lambda x: jaxaug.adjust_saturation(x, 0.5),
      lambda x: jaxaug.adjust_hue(x, 0.3),
      lambda x: jaxaug.gaussian_blur(x, 0.0, kernel_size=5),
      lambda x: jaxaug.cutout(x, jnp.array([2., 2., 0., 0.])),
      lambda x: jaxaug.resized_crop(x, jnp.array([2., 2., 0., 0.]), size=4),
      lambda x: jaxaug.random_field_color(KEY, x, contrast=0.5,
                                          saturation=0.5),
  ]
  images = jnp.stack([jnp.zeros((8, 8, 3)), jnp.ones((8, 8, 3))])
  for op in ops:
    # One compiled call per op: value and gradient on both degenerate images.
    out, grad = jax.jit(jax.vmap(jax.value_and_grad(
        lambda x: jnp.sum(op(x)))))(images)  # pylint: disable=cell-var-from-loop
    assert np.all(np.isfinite(np.asarray(out))), op
    # Gradients too: a NaN here poisons a whole training step.
    assert np.all(np.isfinite(np.asarray(grad))), op
