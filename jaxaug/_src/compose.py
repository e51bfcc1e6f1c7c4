"""Placeholder: to be replaced by the module owner."""

def chain(*args, **kwargs):
  raise NotImplementedError('chain')


def random_apply(*args, **kwargs):
  raise NotImplementedError('random_apply')


def one_of(*args, **kwargs):
  raise NotImplementedError('one_of')


def random_order(*args, **kwargs):
  raise NotImplementedError('random_order')


