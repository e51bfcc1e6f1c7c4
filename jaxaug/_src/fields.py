"""Placeholder: to be replaced by the module owner."""

def gaussian_random_field(*args, **kwargs):
  raise NotImplementedError('gaussian_random_field')


def spectral_density(*args, **kwargs):
  raise NotImplementedError('spectral_density')


def covariance(*args, **kwargs):
  raise NotImplementedError('covariance')


def sample_covariance(*args, **kwargs):
  raise NotImplementedError('sample_covariance')


