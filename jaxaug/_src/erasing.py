"""Placeholder: to be replaced by the module owner."""

def cutout(*args, **kwargs):
  raise NotImplementedError('cutout')


def random_erasing(*args, **kwargs):
  raise NotImplementedError('random_erasing')


