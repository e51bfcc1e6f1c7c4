"""Placeholder: to be replaced by the module owner."""

def batch(*args, **kwargs):
  raise NotImplementedError('batch')


def to_float(*args, **kwargs):
  raise NotImplementedError('to_float')


def from_float(*args, **kwargs):
  raise NotImplementedError('from_float')


