"""Placeholder: to be replaced by the module owner."""

def simclr(*args, **kwargs):
  raise NotImplementedError('simclr')


def simclr_cifar(*args, **kwargs):
  raise NotImplementedError('simclr_cifar')


def two_views(*args, **kwargs):
  raise NotImplementedError('two_views')


def random_field(*args, **kwargs):
  raise NotImplementedError('random_field')


