"""Augmentation overhead inside one jitted SimCLR training step.

One step = two views of the batch -> ResNet-18 (CIFAR stem) + projection head
(512 -> 2048 -> 128) -> NT-Xent (temperature 0.1) -> gradients -> optax SGD
with momentum (LARS would add a per-layer norm, irrelevant for the ratio).
Three variants, everything inside the same `jax.jit`:

- "none": no augmentation (both views are the input images);
- "simclr": `jaxaug.presets.simclr_cifar()` views via `presets.two_views`;
- "simclr+fields": `presets.simclr_cifar(random_field="mild")`, the same with
  the random field warp + colour augmentation at its "mild" setting inserted
  where the preset puts it.

The augmenting fraction of a step is (t_variant - t_none) / t_variant. The
augmentation alone (the same pipeline jitted without the network) is timed
too, as a cross-check that does not rely on the difference of two large
numbers.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from research.benchmarks import common

VARIANTS = ('none', 'simclr', 'simclr+fields')


def _augmenter(variant: str, size: int) -> Callable[[jax.Array, jax.Array],
                                                      tuple[jax.Array,
                                                            jax.Array]]:
  """`fn(key, images) -> (view1, view2)` for one variant."""
  if variant == 'none':
    return lambda key, images: (images, images)
  from jaxaug import presets
  fields = 'mild' if variant == 'simclr+fields' else None
  aug = presets.simclr_cifar(size, random_field=fields)
  return lambda key, images: presets.two_views(key, images, aug)


def make_step(variant: str, *, size: int, model_kind: str = 'resnet18'):
  """Builds (step_fn, state) for one variant; `step_fn(state, key, images)`."""
  import optax
  from flax import nnx
  from research import models
  from research.objectives import ntxent

  rngs = nnx.Rngs(0)
  if model_kind == 'resnet18':
    encoder = models.ResNet18(stem='cifar', rngs=rngs)
  else:  # a tiny stand-in used by the quick smoke run only
    encoder = models.SmallCNN(num_features=32, widths=(8, 16), rngs=rngs)
  features = 512 if model_kind == 'resnet18' else 32
  head = models.ProjectionHead(
      features, hidden=2048 if model_kind == 'resnet18' else 32, out=128,
      rngs=rngs)

  class Net(nnx.Module):

    def __init__(self):
      self.encoder = encoder
      self.head = head

    def __call__(self, x):
      return self.head(self.encoder(x))

  net = Net()
  net.train()
  graphdef, params, rest = nnx.split(net, nnx.Param, nnx.BatchStat)
  # Pure dicts: Variables created outside the trace cannot be mutated inside.
  params, rest = params.to_pure_dict(), rest.to_pure_dict()
  tx = optax.sgd(0.1, momentum=0.9)
  opt_state = tx.init(params)
  augment = _augmenter(variant, size)

  def loss_fn(params, rest, v1, v2):
    m = nnx.merge(graphdef, params, rest)
    z = m(jnp.concatenate([v1, v2]))
    n = v1.shape[0]
    loss, _ = ntxent(z[:n], z[n:], temperature=0.1)
    return loss, nnx.state(m, nnx.BatchStat).to_pure_dict()

  def step(state, key, images):
    params, rest, opt_state = state
    v1, v2 = augment(key, images)
    # `rest` carries the BatchNorm statistics updated by the forward pass.
    (loss, rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, rest, v1, v2)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return (params, rest, opt_state), loss

  return jax.jit(step, donate_argnums=0), (params, rest, opt_state), augment


def run(*, quick: bool, log: Callable[[str], None] = print,
        batch: int | None = None) -> list[Any]:
  if quick:
    size, batch, reps, model_kind = 16, 4, 1, 'small_cnn'
  else:
    # A ResNet-18 step at batch 256 (512 views) takes minutes on a 2-core
    # CPU: the default here is batch 32 and the median of three timed steps
    # after the compiling call (one step varies by +-20% on a shared CPU);
    # pass `batch` (run.py --train-batch) on faster machines.
    size, reps, model_kind = 32, 3, 'resnet18'
    batch = batch or 32
  images = jax.random.uniform(jax.random.key(0), (batch, size, size, 3))
  base = jax.random.key(1)
  out: list[Any] = []
  step_seconds: dict[str, float] = {}
  for variant in VARIANTS:
    try:
      step, state, augment = make_step(variant, size=size,
                                       model_kind=model_kind)
      holder = {'state': state}

      def call(i, step=step, holder=holder):
        holder['state'], loss = step(holder['state'],
                                     jax.random.fold_in(base, i), images)
        return loss

      seconds, times, first = common.time_calls(call, repetitions=reps)
    except Exception as e:  # pylint: disable=broad-except
      out.append({'benchmark': 'training', 'name': f'step_{variant}',
                  'library': 'jaxaug', 'error': f'{type(e).__name__}: {e}'})
      log(f'  training {variant}: FAILED {type(e).__name__}: {e}')
      continue
    step_seconds[variant] = seconds
    params = {'size': size, 'batch': batch, 'views': 2 * batch,
              'model': model_kind, 'variant': variant,
              'first_call_s': first, 'times_s': times}
    out.append(common.Measurement(
        benchmark='training', name=f'step_{variant}', library='jaxaug',
        value=seconds, unit='s/step', seconds=seconds, repetitions=reps,
        items=2 * batch, params=params,
        notes='median over few repetitions: CPU steps are slow'))
    log(f'  training step {variant:14s} {seconds:8.3f} s/step '
        f'(first call {first:.1f} s)')
    if variant != 'none':
      aug_fn = jax.jit(augment)
      a_sec, a_times, _ = common.time_calls(
          lambda i, f=aug_fn: f(jax.random.fold_in(base, i), images),
          repetitions=max(3, reps))
      out.append(common.Measurement(
          benchmark='training', name=f'augment_only_{variant}',
          library='jaxaug', value=a_sec, unit='s/batch', seconds=a_sec,
          repetitions=max(3, reps), items=2 * batch,
          params={**params, 'times_s': a_times}))
      if 'none' in step_seconds:
        frac = max(0.0, (seconds - step_seconds['none']) / seconds)
        out.append(common.Measurement(
            benchmark='training', name=f'augment_fraction_{variant}',
            library='jaxaug', value=frac, unit='fraction', seconds=seconds,
            repetitions=reps, items=2 * batch,
            params={**params, 'augment_only_fraction': a_sec / seconds,
                    'step_none_s': step_seconds['none']},
            notes='(t_step - t_step_without_augmentation) / t_step'))
        log(f'  training {variant:14s} augmenting fraction {frac:.3f} '
            f'(augmentation alone: {a_sec:.3f} s = {a_sec / seconds:.3f} '
            'of the step)')
  return out
