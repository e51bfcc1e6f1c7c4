"""Placeholder: to be replaced by the module owner."""

def random_field_warp(*args, **kwargs):
  raise NotImplementedError('random_field_warp')


def random_field_color(*args, **kwargs):
  raise NotImplementedError('random_field_color')


