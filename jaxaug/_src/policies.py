"""Placeholder: to be replaced by the module owner."""

def rand_augment(*args, **kwargs):
  raise NotImplementedError('rand_augment')


def trivial_augment(*args, **kwargs):
  raise NotImplementedError('trivial_augment')


