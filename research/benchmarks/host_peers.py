"""Host (CPU, per image) SimCLR pipelines: tf.data + tf.image, albumentations.

Each peer runs in a fresh subprocess of the benchmark run (`run_in_subprocess`),
so that TensorFlow's and OpenCV's thread pools do not share a process with
JAX. Every peer gets the same input as the JAX pipelines: `batch` float32
images in [0, 1], `size` x `size` x 3, in host memory, and produces two views
of each (2 * batch views per call) at the same size, returned as NumPy arrays
(the form a host loader hands to the device, not counting the transfer).

* "tf_data": built as google-research/simclr's TF2 code builds it
  (`data.py` / `data_util.py`): a `tf.data` map over single images with
  `num_parallel_calls=AUTOTUNE` that makes two views, each
  `sample_distorted_bounding_box` (area 0.08-1, aspect 3/4-4/3, 100
  attempts) + crop + bicubic `tf.image.resize`, `random_flip_left_right`,
  colour jitter with p 0.8 (multiplicative brightness "simclrv2",
  `tf.image.random_contrast/saturation/hue`, the four in a shuffled order,
  clip after each) and grayscale with p 0.2 (each a `tf.cond`); then
  `batch`; then SimCLR's `batch_random_blur` on each view batch: ONE sigma
  in [0.1, 2] for the whole batch, a `height // 10` kernel (23 taps at 224,
  3 at 32) as two depthwise convolutions with zero ("SAME") padding, mixed
  in per image with p 0.5. The SimCLR code runs that blur on the accelerator
  inside the training step; here it is in the host pipeline so that the
  work is the same as the others'. Written here from that description
  (no code copied).
* "albumentations" (one process) and "albumentations_2workers" (a
  `multiprocessing` pool of 2 forked workers, each augmenting half of the
  batch; images go back by pickling, as in a PyTorch `DataLoader`; each
  worker builds its own pipeline, so its random state is its own, and runs
  OpenCV on one thread):
  `A.Compose([RandomResizedCrop(scale=(0.08, 1), ratio=(3/4, 4/3)),
  HorizontalFlip(0.5), ColorJitter(0.8 s, 0.8 s, 0.8 s, 0.2 s, p=0.8),
  ToGray(p=0.2), GaussianBlur(blur_limit=(k, k), sigma_limit=(0.1, 2),
  p=0.5)])` per image, on the float32 images; bilinear crop resize
  (OpenCV), jitter order shuffled per image (albumentations' ColorJitter),
  blur with OpenCV's `GaussianBlur` (reflect-101 border).
* "torchvision" (one process, one torch thread) and "torchvision_2workers"
  (a `torch.utils.data.DataLoader` with 2 forked workers, half of the batch
  per task, one task ahead per worker): `torchvision.transforms.v2` on CPU
  float32 `(C, H, W)` tensors, per image, `Compose([RandomResizedCrop(size,
  scale=(0.08, 1), ratio=(3/4, 4/3), antialias=True), RandomHorizontalFlip(),
  RandomApply([ColorJitter(0.8 s, 0.8 s, 0.8 s, 0.2 s)], p=0.8),
  RandomGrayscale(0.2), RandomApply([GaussianBlur(k, sigma=(0.1, 2))],
  p=0.5)])`: bilinear (antialiased) crop resize, torchvision's jitter
  (multiplicative brightness, contrast around the grey mean, order shuffled
  per call), blur with reflect padding. torch is not in the test
  dependencies: these peers run under `torch_peers.torch_python()`'s
  interpreter (the `.venv-torch` that `make bench` makes) and are recorded
  as skipped, with the reason, when there is none.

Usage (what `run_in_subprocess` calls):
  python -m research.benchmarks.host_peers --peer tf_data --size 32
      --batch 256 --rounds 5 [--blur] --json PATH
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

import numpy as np

from research.benchmarks import torch_peers

PEERS = ('tf_data', 'albumentations', 'albumentations_2workers',
         'torchvision', 'torchvision_2workers')
TORCH_PEERS = ('torchvision', 'torchvision_2workers')
# The interpreter that runs the torchvision peers: this variable if set (an
# empty value turns them off), else this interpreter when it can import torch
# and torchvision, else the separate venv that `make bench` creates.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _kernel_size(size: int) -> int:
  return 2 * ((size // 10) // 2) + 1


def _strength(size: int) -> float:
  return 0.5 if size <= 64 else 1.0


# ------------------------------------------------------------- tf.data ----

def tf_data_pipeline(images: np.ndarray, *, blur: bool) -> Callable[[], Any]:
  """A `next()`-style callable giving `(views1, views2)` NumPy batches."""
  import tensorflow as tf
  n, size = images.shape[0], images.shape[1]
  s = _strength(size)
  b = c = sat = 0.8 * s
  hue = 0.2 * s

  def maybe(p, fn, x):
    return tf.cond(tf.random.uniform([]) < p, lambda: fn(x), lambda: x)

  def jitter(x):
    def step(i, x):
      ops = [
          lambda: x * tf.random.uniform([], max(1. - b, 0.), 1. + b),
          lambda: tf.image.random_contrast(x, 1. - c, 1. + c),
          lambda: tf.image.random_saturation(x, 1. - sat, 1. + sat),
          lambda: tf.image.random_hue(x, hue),
      ]
      return tf.switch_case(i, ops)

    order = tf.random.shuffle(tf.range(4))
    for i in range(4):
      x = tf.clip_by_value(step(order[i], x), 0., 1.)
    return x

  def grey(x):
    return tf.tile(tf.image.rgb_to_grayscale(x), [1, 1, 3])

  def view(x):
    begin, extent, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(x), tf.constant([[[0., 0., 1., 1.]]]),
        min_object_covered=0.1, aspect_ratio_range=(3 / 4, 4 / 3),
        area_range=(0.08, 1.0), max_attempts=100,
        use_image_if_no_bounding_boxes=True)
    x = tf.slice(x, begin, extent)
    x = tf.image.resize(x[None], [size, size], method='bicubic')[0]
    x = tf.image.random_flip_left_right(x)
    x = maybe(0.8, jitter, x)
    x = maybe(0.2, grey, x)
    return tf.clip_by_value(x, 0., 1.)

  def batch_blur(x):
    k = size // 10
    radius = k // 2
    taps = tf.range(-radius, radius + 1, dtype=tf.float32)
    sigma = tf.random.uniform([], 0.1, 2.0)
    w = tf.exp(-taps ** 2 / (2. * sigma ** 2))
    w = w / tf.reduce_sum(w)
    w_v = tf.tile(tf.reshape(w, [-1, 1, 1, 1]), [1, 1, 3, 1])
    w_h = tf.tile(tf.reshape(w, [1, -1, 1, 1]), [1, 1, 3, 1])
    y = tf.nn.depthwise_conv2d(x, w_h, [1, 1, 1, 1], 'SAME')
    y = tf.nn.depthwise_conv2d(y, w_v, [1, 1, 1, 1], 'SAME')
    pick = tf.cast(tf.random.uniform([tf.shape(x)[0], 1, 1, 1]) < 0.5,
                   x.dtype)
    return tf.clip_by_value(y * pick + x * (1. - pick), 0., 1.)

  ds = tf.data.Dataset.from_tensor_slices(images).repeat()
  ds = ds.map(lambda x: (view(x), view(x)),
              num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.batch(n)
  if blur and size // 10 > 1:
    ds = ds.map(lambda v1, v2: (batch_blur(v1), batch_blur(v2)),
                num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.prefetch(1)
  it = ds.as_numpy_iterator()
  return lambda: next(it)


# ------------------------------------------------------- albumentations ----

def _albumentations_compose(size: int, blur: bool):
  import albumentations as A
  s = _strength(size)
  k = _kernel_size(size)
  ops = [
      A.RandomResizedCrop(size=(size, size), scale=(0.08, 1.0),
                          ratio=(3 / 4, 4 / 3)),
      A.HorizontalFlip(p=0.5),
      A.ColorJitter(brightness=0.8 * s, contrast=0.8 * s,
                    saturation=0.8 * s, hue=0.2 * s, p=0.8),
      A.ToGray(num_output_channels=3, p=0.2),
  ]
  if blur and k > 1:
    ops.append(A.GaussianBlur(blur_limit=(k, k), sigma_limit=(0.1, 2.0),
                              p=0.5))
  return A.Compose(ops)


_WORKER: dict[str, Any] = {}


def _worker_views(bounds):
  images, compose = _WORKER['images'], _WORKER['compose']
  lo, hi = bounds
  out = np.empty((2, hi - lo) + images.shape[1:], np.float32)
  for v in range(2):
    for i in range(lo, hi):
      out[v, i - lo] = compose(image=images[i])['image']
  return out


def _worker_init(size: int, blur: bool) -> None:
  # A forked worker would share the parent's random state (the same
  # augmentation parameters in every worker): build its own pipeline, with
  # fresh seeds, as a PyTorch DataLoader re-seeds its workers. OpenCV's own
  # thread pool is set to one thread per worker (2 workers on 2 cores).
  import cv2
  cv2.setNumThreads(1)
  _WORKER['compose'] = _albumentations_compose(size, blur)


def albumentations_pipeline(images: np.ndarray, *, blur: bool,
                            workers: int = 0) -> Callable[[], Any]:
  """Two views per image; `workers` > 0: a pool of forked processes."""
  _WORKER['images'] = images
  n, size = images.shape[0], images.shape[1]
  if not workers:
    _WORKER['compose'] = _albumentations_compose(size, blur)
    return lambda: _worker_views((0, n))
  import multiprocessing
  pool = multiprocessing.get_context('fork').Pool(
      workers, initializer=_worker_init, initargs=(size, blur))
  edges = np.linspace(0, n, workers + 1).astype(int)
  chunks = list(zip(edges[:-1], edges[1:]))

  def call():
    parts = pool.map(_worker_views, chunks)
    return np.concatenate(parts, axis=1)

  return call



# ---------------------------------------------------------- torchvision ----

# ----------------------------------------------------------------- runner ----

def measure(peer: str, size: int, batch: int, rounds: int, blur: bool,
            warmup: int = 0) -> dict[str, Any]:
  """Times `rounds` calls after a first (set-up) call and `warmup` untimed
  ones; seconds per call."""
  images = np.random.default_rng(0).uniform(
      size=(batch, size, size, 3)).astype(np.float32)
  # Imports before the clock: first_call_s is building the pipeline and
  # producing the first batch.
  if peer == 'tf_data':
    import tensorflow  # pylint: disable=unused-import,import-outside-toplevel
  elif peer in TORCH_PEERS:
    import torch  # pylint: disable=import-outside-toplevel
    import torchvision.transforms.v2  # pylint: disable=unused-import,import-outside-toplevel
  else:
    import albumentations  # pylint: disable=unused-import,import-outside-toplevel
  t0 = time.perf_counter()
  if peer == 'tf_data':
    fn = tf_data_pipeline(images, blur=blur)
  elif peer == 'albumentations':
    fn = albumentations_pipeline(images, blur=blur)
  elif peer == 'albumentations_2workers':
    fn = albumentations_pipeline(images, blur=blur, workers=2)
  elif peer == 'torchvision':
    fn = torch_peers.torchvision_pipeline(
        images, blur=blur, strength=_strength(size),
        kernel_size=_kernel_size(size))
  elif peer == 'torchvision_2workers':
    fn = torch_peers.torchvision_pipeline(
        images, blur=blur, strength=_strength(size),
        kernel_size=_kernel_size(size), workers=2,
        calls=rounds + warmup + 1)
  else:
    raise ValueError(f'unknown peer {peer!r}; choose from {PEERS}')
  out = fn()
  first = time.perf_counter() - t0
  assert np.asarray(out[0]).shape == (batch, size, size, 3), np.shape(out[0])
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(rounds):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  rec = {'peer': peer, 'size': size, 'batch': batch, 'blur': blur,
         'seconds': statistics.median(times), 'times_s': times,
         'warmup': warmup,
         'first_call_s': first, 'loadavg': os.getloadavg(),
         'versions': _versions(peer), 'python': sys.executable}
  if peer in TORCH_PEERS:
    # Torch threads per augmenting process (DataLoader workers set one).
    rec['torch_threads'] = (1 if peer.endswith('workers') else
                            torch.get_num_threads())
  return rec


def _versions(peer: str) -> dict[str, str]:
  import importlib.metadata as md
  names = (['tensorflow-cpu', 'tensorflow'] if peer == 'tf_data' else
           ['torch', 'torchvision'] if peer in TORCH_PEERS else
           ['albumentations', 'opencv-python-headless', 'albucore'])
  out = {}
  for n in names:
    try:
      out[n] = md.version(n)
    except md.PackageNotFoundError:
      pass
  return out


def run_in_subprocess(peer: str, *, size: int, batch: int, rounds: int,
                      blur: bool, warmup: int = 0,
                      timeout: float = 900.) -> dict[str, Any]:
  """`measure` in a fresh Python process; returns its record or an error.

  The torchvision peers run under `torch_peers.torch_python()`'s
  interpreter; without one the record is `{'skipped': reason}`.
  """
  import tempfile
  python = sys.executable
  if peer in TORCH_PEERS:
    python, how = torch_peers.torch_python()
    if python is None:
      return {'skipped': how}
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'out.json')
    cmd = [python, '-m', 'research.benchmarks.host_peers', '--peer',
           peer, '--size', str(size), '--batch', str(batch), '--rounds',
           str(rounds), '--warmup', str(warmup), '--json', path]
    cmd += ['--blur'] if blur else []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    try:
      proc = subprocess.run(cmd, cwd=_ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
      return {'error': f'timed out after {timeout:.0f} s'}
    except OSError as e:
      # e.g. JAXAUG_TORCH_PYTHON naming a directory or a non-executable.
      return {'error': f'cannot run {python}: {e}'}
    if proc.returncode != 0 or not os.path.exists(path):
      tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
      return {'error': f'exit {proc.returncode}: ' + ' | '.join(tail)}
    with open(path, encoding='utf-8') as f:
      return json.load(f)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--peer', choices=PEERS, required=True)
  parser.add_argument('--size', type=int, required=True)
  parser.add_argument('--batch', type=int, required=True)
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--warmup', type=int, default=0,
                      help='untimed calls after the first, before the timed')
  parser.add_argument('--blur', action='store_true')
  parser.add_argument('--json', default=None)
  args = parser.parse_args(argv)
  for name, value, least in (('--size', args.size, 1),
                             ('--batch', args.batch, 1),
                             ('--rounds', args.rounds, 1),
                             ('--warmup', args.warmup, 0)):
    if value < least:
      parser.error(f'{name} must be at least {least}, got {value}')
  rec = measure(args.peer, args.size, args.batch, args.rounds, args.blur,
                args.warmup)
  if args.json:
    with open(args.json, 'w', encoding='utf-8') as f:
      json.dump(rec, f)
  print(json.dumps(rec))


if __name__ == '__main__':
  main()
