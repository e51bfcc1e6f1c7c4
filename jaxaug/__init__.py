"""jaxaug: image augmentations for JAX research.

Every op takes one image of layout `(H, W, C)` (or `channel_axis=`), float
with values in [0, 1], and returns the same shape and dtype with values in
[0, 1]. A concrete image with a value outside [0, 1] raises a ValueError
naming the argument; a traced one is clipped to [0, 1] on entry; convert
other ranges first with `to_float` (0-255) or `denormalize` (mean/std).
Random ops take a PRNG key first, `random_x(key, image, *, ...)`, draw their
parameter from a `(low, high)` range named like the parameter of their
deterministic twin `x(image, ...)`, and call it. Functions that build
augmentations (`chain`, `with_probability`, presets) take no key and are
not named `random_*`. Batches: `jax.vmap` over split keys, or
`jaxaug.batch(fn)`. Conventions and renames: docs/api_conventions.md.
"""

from jaxaug import fields
from jaxaug import presets
from jaxaug._src.resample import (
    map_coordinates,
    identity_grid,
)
from jaxaug._src.geometric import (
    flip_left_right,
    flip_up_down,
    random_flip_left_right,
    random_flip_up_down,
    rot90,
    random_rot90,
    rotate,
    random_rotate,
    affine_transform,
    random_affine,
    translate,
    random_translate,
    scale,
    random_scale,
    shear,
    random_shear,
    resized_crop,
    random_resized_crop,
    random_crop,
    center_crop,
    pad,
    GeometricOp,
    geometric_op,
    register_geometric,
)
from jaxaug._src.color import (
    adjust_brightness,
    scale_brightness,
    adjust_contrast,
    adjust_saturation,
    adjust_hue,
    adjust_gamma,
    random_brightness,
    random_contrast,
    random_saturation,
    random_hue,
    random_gamma,
    rgb_to_hsv,
    hsv_to_rgb,
    rgb_to_grayscale,
    random_grayscale,
    color_jitter,
    solarize,
    random_solarize,
    posterize,
    equalize,
    autocontrast,
    invert,
    adjust_sharpness,
    random_sharpness,
)
from jaxaug._src.filters import (
    gaussian_blur,
    random_gaussian_blur,
)
from jaxaug._src.erasing import (
    cutout,
    random_erasing,
)
from jaxaug._src.mixing import (
    mixup,
    cutmix,
    resizemix,
)
from jaxaug._src.policies import (
    rand_augment,
    trivial_augment,
)
from jaxaug._src.compose import (
    chain,
    with_probability,
    one_of,
    in_random_order,
)
from jaxaug._src.utils import (
    batch,
    to_float,
    from_float,
    normalize,
    denormalize,
)
from jaxaug._src.field_augment import (
    random_field_warp,
    random_field_color,
    field_warp,
    field_color,
    sample_warp_fields,
    sample_color_fields,
)
# Deprecated spellings, kept for one release (docs/api_conventions.md).
from jaxaug._src.compose import (
    random_apply,
    random_order,
)
from jaxaug._src.field_augment import (
    random_field_augmentation,
)

__version__ = "0.2.0"
