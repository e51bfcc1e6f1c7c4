"""jaxaug.presets."""

from jaxaug._src.presets import (
    simclr,
    simclr_cifar,
    two_views,
    random_field,
)
