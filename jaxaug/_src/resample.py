"""Placeholder: to be replaced by the module owner."""

def map_coordinates(*args, **kwargs):
  raise NotImplementedError('map_coordinates')


