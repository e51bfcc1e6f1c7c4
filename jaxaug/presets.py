"""jaxaug.presets."""

from jaxaug._src.presets import (
    simclr,
    simclr_cifar,
    two_views,
    field_augmentation,
    random_field,
)
