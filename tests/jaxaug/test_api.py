"""Walks jaxaug's public names and enforces the API conventions.

Conventions (docs/api_conventions.md): random ops take the PRNG key first,
named `key`, and are the only functions named `random_*` (functions that
build augmentations take no key and are named otherwise); options (parameters
with defaults) are keyword-only; a random range is one `(low, high)` argument
named like the parameter of the deterministic twin the op calls (with a
`_fraction` suffix when it is a fraction of the image side); one name per
quantity; every public function has a docstring; deprecated spellings warn
and forward; the names outside code relies on exist.
"""

import functools
import inspect
import warnings

import jax
import jax.numpy as jnp
import jaxaug
from jaxaug import fields
from jaxaug import presets
import numpy as np
import pytest

# Names that outside code (research/, notebooks, README) relies on.
CONTRACT = {
    jaxaug: [
        "flip_left_right", "flip_up_down", "random_flip_left_right", "rot90",
        "rotate", "random_rotate", "affine_transform", "random_affine",
        "resized_crop", "random_resized_crop", "random_crop", "center_crop",
        "pad", "adjust_brightness", "scale_brightness", "adjust_contrast",
        "adjust_saturation", "adjust_hue", "adjust_gamma", "rgb_to_hsv",
        "hsv_to_rgb", "rgb_to_grayscale", "random_brightness",
        "random_contrast", "random_saturation", "random_hue", "random_gamma",
        "color_jitter", "random_grayscale", "solarize", "posterize",
        "equalize", "autocontrast", "invert", "adjust_sharpness",
        "gaussian_blur", "random_gaussian_blur", "cutout", "random_erasing",
        "mixup", "cutmix", "resizemix", "rand_augment", "trivial_augment",
        "chain", "with_probability", "one_of", "in_random_order", "batch",
        "to_float", "from_float", "normalize", "denormalize",
        "random_field_warp", "random_field_color",
        # Deprecated aliases (one release).
        "random_apply", "random_order", "random_field_augmentation",
    ],
    presets: ["simclr", "simclr_cifar", "two_views", "field_augmentation",
              "random_field"],
    fields: ["gaussian_random_field"],
}

# Functions that draw randomness but whose name does not start with random_.
KEYED = {
    "color_jitter", "mixup", "cutmix", "resizemix", "rand_augment",
    "trivial_augment", "two_views", "gaussian_random_field",
    "sample_warp_fields", "sample_color_fields",
}

# Options that are also the natural first positional argument.
POSITIONAL_OPTIONS = {("simclr_cifar", "size"),
                      ("field_augmentation", "setting")}

# Old spellings of a random range or of a quantity, now renamed.
BANNED_PARAMETERS = {
    "max_delta": "a (low, high) range named like the twin's parameter",
    "lower": "a (low, high) range", "upper": "a (low, high) range",
    "min_gamma": "gamma=(low, high)", "max_gamma": "gamma=(low, high)",
    "angle_range": "angle", "offset": "translation",
}
# Static planning bounds of traced length scales, not a random range.
BANNED_EXEMPT = {("gaussian_random_field", "max_length_scale"),
                 ("gaussian_random_field", "min_length_scale")}
# A rotation angle is `angle`, except as the name of a random field
# (the standard deviation of the rotation field).
FIELD_FUNCTIONS = {"random_field_warp", "field_warp", "sample_warp_fields"}

# Random twin -> (deterministic op, the parameter it draws).
TWINS = {
    "random_rotate": ("rotate", "angle"),
    "random_translate": ("translate", "translation"),
    "random_scale": ("scale", "scale"),
    "random_shear": ("shear", "shear"),
    "random_brightness": ("adjust_brightness", "delta"),
    "random_contrast": ("adjust_contrast", "factor"),
    "random_saturation": ("adjust_saturation", "factor"),
    "random_hue": ("adjust_hue", "delta"),
    "random_gamma": ("adjust_gamma", "gamma"),
    "random_sharpness": ("adjust_sharpness", "factor"),
    "random_gaussian_blur": ("gaussian_blur", "sigma"),
    "random_solarize": ("solarize", "threshold"),
    "random_field_warp": ("field_warp", "rotation"),
    "random_field_color": ("field_color", "hue"),
}


def _public_functions(deprecated=False):
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
      if bool(getattr(obj, "__jaxaug_deprecated__", None)) != deprecated:
        continue
      out.append((f"{module.__name__}.{name}", name, obj))
  return out


PUBLIC = _public_functions()
DEPRECATED = _public_functions(deprecated=True)


def test_contract_names_exist():
  missing = [f"{m.__name__}.{n}" for m, names in CONTRACT.items()
             for n in names if not hasattr(m, n)]
  assert not missing, f"public API names missing: {missing}"


def test_public_walk_is_not_empty():
  assert len(PUBLIC) >= 60, [p[0] for p in PUBLIC]
  assert {p[1] for p in DEPRECATED} == {
      "random_apply", "random_order", "random_field_augmentation",
      "random_field"}


@pytest.mark.parametrize("qualname,name,fn", PUBLIC + DEPRECATED,
                         ids=[p[0] for p in PUBLIC + DEPRECATED])
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
    # Only key-first ops are named random_*: a function that builds an
    # augmentation takes no key and must be named otherwise.
    assert params and params[0].name == "key", (
        f"{qualname}: the PRNG key must be the first argument, named `key`; "
        f"got {[p.name for p in params]} (a builder must not be named "
        "random_*)")
  else:
    assert not params or params[0].name != "key", (
        f"{qualname} takes a key first: name it random_* or list it in "
        "KEYED")
  for p in params:
    if (name, p.name) in POSITIONAL_OPTIONS:
      continue
    if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and (
        p.default is not inspect.Parameter.empty):
      pytest.fail(f"{qualname}: option `{p.name}` has a default and must be "
                  "keyword-only (after `*`)")


@pytest.mark.parametrize("qualname,name,fn", PUBLIC,
                         ids=[p[0] for p in PUBLIC])
def test_one_spelling_per_idea(qualname, name, fn):
  for p in inspect.signature(fn).parameters:
    if (name, p) in BANNED_EXEMPT:
      continue
    assert p not in BANNED_PARAMETERS, (
        f"{qualname}({p}=): use {BANNED_PARAMETERS[p]}")
    assert not p.endswith("_range"), f"{qualname}({p}=): a range is (low, high)"
    assert not p.endswith("_frac"), f"{qualname}({p}=): spell it _fraction"
    if p == "rotation":
      assert name in FIELD_FUNCTIONS, f"{qualname}(rotation=): call it angle"


@pytest.mark.parametrize("twin", sorted(TWINS))
def test_random_twin_draws_the_parameter_of_its_deterministic_op(twin):
  op, param = TWINS[twin]
  random_params = inspect.signature(getattr(jaxaug, twin)).parameters
  op_params = inspect.signature(getattr(jaxaug, op)).parameters
  assert param in op_params, (op, param)
  assert param in random_params or f"{param}_fraction" in random_params, (
      twin, list(random_params))
  # The twin's other options exist on the op too, with the same meaning.
  for p in random_params:
    if p in ("key", "image", param, f"{param}_fraction", "probability",
             "channel_axis", "length_scale", "spectrum", "nu") or (
                 twin.startswith("random_field") and p in COLOR_WARP):
      continue
    assert p in op_params, (twin, p)


COLOR_WARP = {"rotation", "scale", "shear", "translation", "hue",
              "saturation", "brightness", "contrast"}

_IMG = jnp.asarray(np.random.default_rng(0).random((8, 6, 3)), jnp.float32)
KEY = jax.random.key(0)

# Random twin with a one-point range == its deterministic op.
ONE_POINT = [
    ("rotate", lambda: jaxaug.random_rotate(KEY, _IMG, angle=(0.4, 0.4)),
     lambda: jaxaug.rotate(_IMG, 0.4)),
    ("translate", lambda: jaxaug.random_translate(
        KEY, _IMG, translation_fraction=(0.25, 0.25)),
     lambda: jaxaug.translate(_IMG, (2.0, 1.5))),
    ("scale", lambda: jaxaug.random_scale(KEY, _IMG, scale=(1.5, 1.5)),
     lambda: jaxaug.scale(_IMG, 1.5)),
    ("shear", lambda: jaxaug.random_shear(KEY, _IMG, shear=(0.3, 0.3)),
     lambda: jaxaug.shear(_IMG, 0.3)),
    ("brightness", lambda: jaxaug.random_brightness(
        KEY, _IMG, delta=(0.1, 0.1)),
     lambda: jaxaug.adjust_brightness(_IMG, 0.1)),
    ("contrast", lambda: jaxaug.random_contrast(
        KEY, _IMG, factor=(1.5, 1.5), convention="torchvision"),
     lambda: jaxaug.adjust_contrast(_IMG, 1.5, convention="torchvision")),
    ("saturation", lambda: jaxaug.random_saturation(
        KEY, _IMG, factor=(0.5, 0.5)),
     lambda: jaxaug.adjust_saturation(_IMG, 0.5)),
    ("hue", lambda: jaxaug.random_hue(KEY, _IMG, delta=(0.2, 0.2)),
     lambda: jaxaug.adjust_hue(_IMG, 0.2)),
    ("gamma", lambda: jaxaug.random_gamma(KEY, _IMG, gamma=(0.7, 0.7)),
     lambda: jaxaug.adjust_gamma(_IMG, 0.7)),
    ("sharpness", lambda: jaxaug.random_sharpness(
        KEY, _IMG, factor=(2.0, 2.0)),
     lambda: jaxaug.adjust_sharpness(_IMG, 2.0)),
    ("blur", lambda: jaxaug.random_gaussian_blur(
        KEY, _IMG, sigma=(0.8, 0.8), kernel_size=3),
     lambda: jaxaug.gaussian_blur(_IMG, 0.8, kernel_size=3)),
    ("solarize", lambda: jaxaug.random_solarize(
        KEY, _IMG, threshold=0.3, probability=1.0),
     lambda: jaxaug.solarize(_IMG, threshold=0.3)),
    ("grayscale", lambda: jaxaug.random_grayscale(KEY, _IMG, probability=1.0),
     lambda: jaxaug.rgb_to_grayscale(_IMG)),
    ("erasing", lambda: jaxaug.random_erasing(
        KEY, _IMG, probability=1.0, area=(1.0, 1.0), aspect_ratio=(0.75, 0.75),
        value=0.25), lambda: jaxaug.cutout(_IMG, (0, 0, 8, 6), value=0.25)),
]


@pytest.mark.parametrize("name,random_call,op_call", ONE_POINT,
                         ids=[c[0] for c in ONE_POINT])
def test_random_twin_with_one_point_range_is_its_op(name, random_call,
                                                    op_call):
  # One compiled program per pair (eagerly each would compile op by op).
  got, want = jax.jit(lambda: (random_call(), op_call()))()
  np.testing.assert_allclose(got, want, atol=1e-6, err_msg=name)


def _program(aug):
  return str(jax.make_jaxpr(aug)(KEY, _IMG))


def _invert(key, image):
  del key  # A deterministic op inside a combinator.
  return jaxaug.invert(image)


# Deprecated spelling -> the same call in the new spelling.
_OLD_AND_NEW = [
    ("random_apply", lambda: jaxaug.random_apply(_invert, 1.0)(KEY, _IMG),
     lambda: jaxaug.with_probability(_invert, 1.0)(KEY, _IMG)),
    ("random_order", lambda: jaxaug.random_order(
        jaxaug.random_flip_left_right)(KEY, _IMG),
     lambda: jaxaug.in_random_order(jaxaug.random_flip_left_right)(KEY, _IMG)),
    # Presets: the same program (compared as jaxprs: no compilation).
    ("random_field_augmentation", lambda: _program(
        jaxaug.random_field_augmentation("mild")),
     lambda: _program(presets.field_augmentation("mild"))),
    ("presets.random_field", lambda: _program(presets.random_field("mild")),
     lambda: _program(presets.field_augmentation("mild"))),
    ("field override translation=", lambda: _program(
        presets.field_augmentation("mild", translation=0.05,
                                   length_scale=0.3)),
     lambda: _program(presets.field_augmentation(
         "mild", translation_fraction=0.05, length_scale_fraction=0.3))),
    ("max_delta", lambda: jaxaug.random_brightness(KEY, _IMG, max_delta=0.3),
     lambda: jaxaug.random_brightness(KEY, _IMG, delta=(-0.3, 0.3))),
    ("hue max_delta", lambda: jaxaug.random_hue(KEY, _IMG, max_delta=0.3),
     lambda: jaxaug.random_hue(KEY, _IMG, delta=(-0.3, 0.3))),
    ("lower/upper", lambda: jaxaug.random_contrast(KEY, _IMG, lower=0.5),
     lambda: jaxaug.random_contrast(KEY, _IMG, factor=(0.5, 1.2))),
    ("saturation lower/upper", lambda: jaxaug.random_saturation(
        KEY, _IMG, lower=0.1, upper=2.0),
     lambda: jaxaug.random_saturation(KEY, _IMG, factor=(0.1, 2.0))),
    ("sharpness lower/upper", lambda: jaxaug.random_sharpness(
        KEY, _IMG, upper=3.0),
     lambda: jaxaug.random_sharpness(KEY, _IMG, factor=(0.5, 3.0))),
    ("min_gamma", lambda: jaxaug.random_gamma(KEY, _IMG, min_gamma=0.5),
     lambda: jaxaug.random_gamma(KEY, _IMG, gamma=(0.5, 1.25))),
    ("angle_range", lambda: jaxaug.random_rotate(
        KEY, _IMG, angle_range=(-1., 1.)),
     lambda: jaxaug.random_rotate(KEY, _IMG, angle=(-1., 1.))),
    ("random_translate translation=", lambda: jaxaug.random_translate(
        KEY, _IMG, translation=(-0.2, 0.2)),
     lambda: jaxaug.random_translate(
         KEY, _IMG, translation_fraction=(-0.2, 0.2))),
    ("random_affine rotation=", lambda: jaxaug.random_affine(
        KEY, _IMG, rotation=(0.1, 0.2), translation=(0.0, 0.1)),
     lambda: jaxaug.random_affine(KEY, _IMG, angle=(0.1, 0.2),
                                  translation_fraction=(0.0, 0.1))),
    ("translate offset=", lambda: jaxaug.translate(_IMG, offset=(1., 2.)),
     lambda: jaxaug.translate(_IMG, (1., 2.))),
    ("scale factor=", lambda: jaxaug.scale(_IMG, factor=1.3),
     lambda: jaxaug.scale(_IMG, 1.3)),
]


@pytest.mark.parametrize("name,old,new", _OLD_AND_NEW,
                         ids=[c[0] for c in _OLD_AND_NEW])
def test_deprecated_spellings_warn_and_forward(name, old, new):
  with pytest.warns(DeprecationWarning, match="deprecated"):
    got = old()
  with warnings.catch_warnings():
    warnings.simplefilter("error", DeprecationWarning)
    want = new()
  if isinstance(want, str):
    assert got == want, name
  else:
    np.testing.assert_allclose(got, want, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("name,old", [c[:2] for c in _OLD_AND_NEW],
                         ids=[c[0] for c in _OLD_AND_NEW])
def test_deprecation_warnings_point_at_the_callers_line(name, old):
  # The warning names the user's file (the lambdas above), not jaxaug's or
  # JAX's internals, on the first (compiling) call and on a repeated one.
  for _ in range(2):
    with pytest.warns(DeprecationWarning) as record:
      old()
    files = {w.filename for w in record
             if issubclass(w.category, DeprecationWarning)}
    assert files == {__file__}, (name, files)


def test_deprecation_warning_under_jit_points_at_the_caller():
  fn = jax.jit(lambda k, x: jaxaug.random_rotate(k, x, angle_range=(-1, 1)))
  with pytest.warns(DeprecationWarning) as record:
    fn(KEY, _IMG)
  assert {w.filename for w in record} == {__file__}


@pytest.mark.parametrize("combinator", ["in_random_order", "with_probability",
                                        "one_of"])
def test_deprecated_partial_in_a_combinator_warns_once_per_call(combinator):
  old = functools.partial(jaxaug.random_brightness, max_delta=0.2)
  make = {"in_random_order": lambda: jaxaug.in_random_order(
              old, jaxaug.random_flip_left_right),
          "with_probability": lambda: jaxaug.with_probability(old, 0.5),
          "one_of": lambda: jaxaug.one_of(
              old, jaxaug.random_flip_left_right)}[combinator]
  aug = make()
  for _ in range(2):
    with warnings.catch_warnings(record=True) as record:
      warnings.simplefilter("always")
      aug(KEY, _IMG)
    found = [w for w in record if issubclass(w.category, DeprecationWarning)]
    assert len(found) == 1, [str(w.message) for w in found]
    assert found[0].filename == __file__


def test_channel_axis_rank_error_shows_the_shape_as_given():
  with pytest.raises(ValueError, match=r"rank 3.*\(8, 10\) \(rank 2\)"):
    jaxaug.random_rotate(KEY, jnp.zeros((8, 10)), channel_axis=0)


def test_deprecated_spelling_with_channel_axis():
  chw = jnp.moveaxis(_IMG, -1, 0)
  with pytest.warns(DeprecationWarning, match="angle_range") as record:
    got = jaxaug.random_rotate(KEY, chw, angle_range=(-1., 1.),
                               channel_axis=0)
  assert {w.filename for w in record} == {__file__}
  want = jaxaug.random_rotate(KEY, chw, angle=(-1., 1.), channel_axis=0)
  np.testing.assert_array_equal(got, want)
  # The image passed by keyword, too.
  got_kw = jaxaug.random_rotate(key=KEY, image=chw, angle=(-1., 1.),
                                channel_axis=0)
  np.testing.assert_array_equal(got_kw, want)
  with pytest.raises(TypeError, match="image"):
    jaxaug.random_rotate(KEY, angle=(-1., 1.), channel_axis=0)
  # Python's own message for a bad call, not a guess about the image.
  with pytest.raises(TypeError, match="multiple values for argument 'key'"):
    jaxaug.random_rotate(chw, key=KEY, channel_axis=0)


@pytest.mark.parametrize("channel_axis", [-1, 0])
@pytest.mark.parametrize("name", ["random_rotate", "random_translate",
                                  "random_affine", "random_scale"])
def test_unknown_keyword_names_the_public_op(name, channel_axis):
  img = _IMG if channel_axis == -1 else jnp.moveaxis(_IMG, -1, 0)
  with pytest.raises(TypeError, match=rf"{name}\(\).*'bogus'"):
    getattr(jaxaug, name)(KEY, img, bogus=1, channel_axis=channel_axis)


def test_deprecated_and_new_spelling_together_is_an_error():
  with pytest.raises(TypeError, match="delta"):
    jaxaug.random_brightness(KEY, _IMG, max_delta=0.1, delta=(0, 0.1))
  with pytest.raises(TypeError, match="translation_fraction"):
    presets.field_augmentation("mild", translation=0.1,
                               translation_fraction=0.1)


def test_fractions_of_the_side_are_pixels_downstream():
  # field_augmentation's fractions are the field ops' pixels: with the same
  # key, translation_fraction f on a 16x20 image is translation 16 f.
  img = jnp.asarray(np.random.default_rng(1).random((16, 20, 3)), jnp.float32)
  zero = dict(rotation=0., scale=0., shear=0., hue=0., saturation=0.,
              brightness=0., contrast=0.)
  aug = presets.field_augmentation("mild", translation_fraction=0.1,
                                   length_scale_fraction=0.25, **zero)
  got, want, via_op = jax.jit(lambda x: (
      aug(KEY, x),
      jaxaug.field_warp(x, **jaxaug.sample_warp_fields(
          KEY, (16, 20), translation=1.6, length_scale=4.0)),
      jaxaug.random_field_warp(KEY, x, translation=1.6, length_scale=4.0)))(
          img)
  np.testing.assert_allclose(got, want, atol=1e-6)
  np.testing.assert_allclose(via_op, want, atol=1e-6)
  # random_translate's fraction is translate's pixels (0.25 * (8, 6)).
  np.testing.assert_allclose(
      jaxaug.random_translate(KEY, _IMG, translation_fraction=(0.25, 0.25)),
      jaxaug.translate(_IMG, (2.0, 1.5)), atol=1e-6)
