"""Placeholder: to be replaced by the module owner."""

def flip_left_right(*args, **kwargs):
  raise NotImplementedError('flip_left_right')


def flip_up_down(*args, **kwargs):
  raise NotImplementedError('flip_up_down')


def random_flip_left_right(*args, **kwargs):
  raise NotImplementedError('random_flip_left_right')


def random_flip_up_down(*args, **kwargs):
  raise NotImplementedError('random_flip_up_down')


def rot90(*args, **kwargs):
  raise NotImplementedError('rot90')


def random_rot90(*args, **kwargs):
  raise NotImplementedError('random_rot90')


def rotate(*args, **kwargs):
  raise NotImplementedError('rotate')


def random_rotate(*args, **kwargs):
  raise NotImplementedError('random_rotate')


def affine_transform(*args, **kwargs):
  raise NotImplementedError('affine_transform')


def random_affine(*args, **kwargs):
  raise NotImplementedError('random_affine')


def translate(*args, **kwargs):
  raise NotImplementedError('translate')


def random_translate(*args, **kwargs):
  raise NotImplementedError('random_translate')


def scale(*args, **kwargs):
  raise NotImplementedError('scale')


def random_scale(*args, **kwargs):
  raise NotImplementedError('random_scale')


def shear(*args, **kwargs):
  raise NotImplementedError('shear')


def random_shear(*args, **kwargs):
  raise NotImplementedError('random_shear')


def resized_crop(*args, **kwargs):
  raise NotImplementedError('resized_crop')


def random_resized_crop(*args, **kwargs):
  raise NotImplementedError('random_resized_crop')


def random_crop(*args, **kwargs):
  raise NotImplementedError('random_crop')


def center_crop(*args, **kwargs):
  raise NotImplementedError('center_crop')


def pad(*args, **kwargs):
  raise NotImplementedError('pad')


