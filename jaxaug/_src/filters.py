"""Placeholder: to be replaced by the module owner."""

def gaussian_blur(*args, **kwargs):
  raise NotImplementedError('gaussian_blur')


def random_gaussian_blur(*args, **kwargs):
  raise NotImplementedError('random_gaussian_blur')


