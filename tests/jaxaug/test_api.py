"""Walks jaxaug's public names and enforces the API conventions.

Conventions (DESIGN.md section 2): random ops take the PRNG key first, named
`key`; options (parameters with defaults) are keyword-only; every public
function has a docstring; the names outside code relies on exist.
"""

import inspect

import jaxaug
from jaxaug import fields
from jaxaug import presets
import pytest

# Names DESIGN.md section 2 promises (outside code relies on them).
CONTRACT = {
    jaxaug: [
        "flip_left_right", "flip_up_down", "random_flip_left_right", "rot90",
        "rotate", "random_rotate", "affine_transform", "random_affine",
        "resized_crop", "random_resized_crop", "random_crop", "center_crop",
        "pad", "adjust_brightness", "adjust_contrast", "adjust_saturation",
        "adjust_hue", "adjust_gamma", "rgb_to_hsv", "hsv_to_rgb",
        "rgb_to_grayscale", "random_brightness", "random_contrast",
        "random_saturation", "random_hue", "random_gamma", "color_jitter",
        "random_grayscale", "solarize", "posterize", "equalize",
        "autocontrast", "invert", "adjust_sharpness", "gaussian_blur",
        "random_gaussian_blur", "cutout", "random_erasing", "mixup", "cutmix",
        "resizemix", "rand_augment", "trivial_augment", "chain",
        "random_apply", "one_of", "random_order", "batch", "to_float",
        "from_float", "random_field_warp", "random_field_color",
    ],
    presets: ["simclr", "simclr_cifar", "two_views", "random_field"],
    fields: ["gaussian_random_field"],
}

# Functions that draw randomness but whose name does not start with random_.
KEYED = {
    "color_jitter", "mixup", "cutmix", "resizemix", "rand_augment",
    "trivial_augment", "two_views", "gaussian_random_field",
}
# Combinators and builders: they return augmentations, take no key.
BUILDERS = {
    "chain", "random_apply", "one_of", "random_order", "batch", "simclr",
    "simclr_cifar", "random_field", "random_field_augmentation",
}

# Options that are also the natural first positional argument.
POSITIONAL_OPTIONS = {("simclr_cifar", "size")}


def _public_functions():
  out = []
  for module in (jaxaug, fields, presets):
    for name in sorted(dir(module)):
      obj = getattr(module, name)
      if name.startswith("_") or not callable(obj) or inspect.isclass(obj):
        continue
      if inspect.ismodule(obj):
        continue
      if not getattr(obj, "__module__", "").startswith("jaxaug"):
        continue
      out.append((f"{module.__name__}.{name}", name, obj))
  return out


PUBLIC = _public_functions()


def test_contract_names_exist():
  missing = [f"{m.__name__}.{n}" for m, names in CONTRACT.items()
             for n in names if not hasattr(m, n)]
  assert not missing, f"public API names missing: {missing}"


def test_public_walk_is_not_empty():
  assert len(PUBLIC) >= 60, [p[0] for p in PUBLIC]


@pytest.mark.parametrize("qualname,name,fn", PUBLIC,
                         ids=[p[0] for p in PUBLIC])
def test_docstring(qualname, name, fn):
  doc = inspect.getdoc(fn) or ""
  assert len(doc.strip()) > 20, f"{qualname} needs a docstring"
  assert "NotImplementedError" not in inspect.getsource(fn), (
      f"{qualname} is still a placeholder")


@pytest.mark.parametrize("qualname,name,fn", PUBLIC,
                         ids=[p[0] for p in PUBLIC])
def test_key_first_and_options_keyword_only(qualname, name, fn):
  sig = inspect.signature(fn)
  params = list(sig.parameters.values())
  if name.startswith("random_") or name in KEYED:
    if name in BUILDERS:
      return
    assert params and params[0].name == "key", (
        f"{qualname}: the PRNG key must be the first argument, named `key`; "
        f"got {[p.name for p in params]}")
  for p in params:
    if (name, p.name) in POSITIONAL_OPTIONS:
      continue
    if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and (
        p.default is not inspect.Parameter.empty):
      pytest.fail(f"{qualname}: option `{p.name}` has a default and must be "
                  "keyword-only (after `*`)")
