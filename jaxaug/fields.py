"""jaxaug.fields."""

from jaxaug._src.fields import (
    gaussian_random_field,
    spectral_density,
    covariance,
    sample_covariance,
)
