"""Placeholder: to be replaced by the module owner."""

def adjust_brightness(*args, **kwargs):
  raise NotImplementedError('adjust_brightness')


def adjust_contrast(*args, **kwargs):
  raise NotImplementedError('adjust_contrast')


def adjust_saturation(*args, **kwargs):
  raise NotImplementedError('adjust_saturation')


def adjust_hue(*args, **kwargs):
  raise NotImplementedError('adjust_hue')


def adjust_gamma(*args, **kwargs):
  raise NotImplementedError('adjust_gamma')


def random_brightness(*args, **kwargs):
  raise NotImplementedError('random_brightness')


def random_contrast(*args, **kwargs):
  raise NotImplementedError('random_contrast')


def random_saturation(*args, **kwargs):
  raise NotImplementedError('random_saturation')


def random_hue(*args, **kwargs):
  raise NotImplementedError('random_hue')


def random_gamma(*args, **kwargs):
  raise NotImplementedError('random_gamma')


def rgb_to_hsv(*args, **kwargs):
  raise NotImplementedError('rgb_to_hsv')


def hsv_to_rgb(*args, **kwargs):
  raise NotImplementedError('hsv_to_rgb')


def rgb_to_grayscale(*args, **kwargs):
  raise NotImplementedError('rgb_to_grayscale')


def random_grayscale(*args, **kwargs):
  raise NotImplementedError('random_grayscale')


def color_jitter(*args, **kwargs):
  raise NotImplementedError('color_jitter')


def solarize(*args, **kwargs):
  raise NotImplementedError('solarize')


def random_solarize(*args, **kwargs):
  raise NotImplementedError('random_solarize')


def posterize(*args, **kwargs):
  raise NotImplementedError('posterize')


def equalize(*args, **kwargs):
  raise NotImplementedError('equalize')


def autocontrast(*args, **kwargs):
  raise NotImplementedError('autocontrast')


def invert(*args, **kwargs):
  raise NotImplementedError('invert')


def adjust_sharpness(*args, **kwargs):
  raise NotImplementedError('adjust_sharpness')


def random_sharpness(*args, **kwargs):
  raise NotImplementedError('random_sharpness')


