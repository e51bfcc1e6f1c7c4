"""Placeholder: to be replaced by the module owner."""

def mixup(*args, **kwargs):
  raise NotImplementedError('mixup')


def cutmix(*args, **kwargs):
  raise NotImplementedError('cutmix')


def resizemix(*args, **kwargs):
  raise NotImplementedError('resizemix')


