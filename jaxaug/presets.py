"""jaxaug.presets."""

from jaxaug._src.presets import (
    RANDOM_FIELD_SETTINGS,
    simclr,
    simclr_cifar,
    two_views,
    field_augmentation,
    random_field,
)
