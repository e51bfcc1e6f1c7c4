"""Time to first output (compilation) of jaxaug's pipelines and the JAX peers'.

Issue 16, item 4: the time from building a pipeline to its first output, for
the README's quick example, `presets.simclr_cifar`, `presets.simclr(224)` and
the mild random field preset, each in a FRESH Python process (nothing
compiled or cached before; JAX's persistent compilation cache is not set),
against dm_pix and augmax on the closest pipeline they have.

Each job runs in its own fresh process `ROUNDS` (3) times, the rounds going
through all jobs in turn; the value is the median round (its split is
shown), with the min and max.

Clock: imports, the creation of the input batch and key and the start of the
JAX backend happen before it; it starts before the augmentation function is
built and stops at `block_until_ready` of the first output. The jitted
two-view function goes through JAX's ahead-of-time path, which is the same
work as a first plain call split into steps: `build` (making the pipeline and
its `jax.jit` wrapper), `trace` (`jit(f).trace`), `lower` (to StableHLO),
`compile` (XLA) and `run` (the first execution). The README example runs as
written (its three single-image ops eagerly, then the jitted SimCLR two
views): its split is `eager` (the three ops, each compiling on first use) and
`jit` (the first call of the jitted two views).

Cases (jaxaug pipeline: what the peers run for it):

* readme_example: the README snippet (64x64 single-image ops, then
  `simclr_cifar(32, random_field="mild")` two views of 8 images); peers:
  their CIFAR pipeline (no blur, s = 0.5) at 32x32, batch 8 (no peer has
  random fields).
* simclr_cifar_32: `presets.simclr_cifar(32)` two views, batch 256; peers:
  their CIFAR pipeline, batch 256 (the `simclr_cifar_32` row of the SimCLR
  comparison).
* simclr_224: `presets.simclr(224)` two views, batch 32; peers: their
  ImageNet pipeline with the 23-tap blur, batch 32 (`simclr_224`).
* field_mild_32: `presets.field_augmentation("mild")` two views of 256
  32x32 images. No peer has random fields: the report compares it with the
  peers' simclr_cifar_32 times (the pipeline it is added to), and says so.

The host peers' first-call times are those of the SimCLR comparison
(`simclr_pipeline`: building the pipeline and the first batch in a fresh
process), shown beside these in the report.

Usage (what `run` does for each case):
  python -m research.benchmarks.compile_time --case simclr_224
      --library jaxaug --json PATH
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Callable

JAXAUG_CASES = ('readme_example', 'simclr_cifar_32', 'simclr_224',
                'field_mild_32')
JAX_PEERS = ('dm_pix', 'augmax')
# jaxaug case -> (size, batch, blur) of the peers' closest pipeline, and the
# case whose peer measurements it is compared with.
PEER_SETTING = {
    'readme_example': (32, 8, False),
    'simclr_cifar_32': (32, 256, False),
    'simclr_224': (224, 32, True),
}
COMPARED_WITH = {'readme_example': 'readme_example',
                 'simclr_cifar_32': 'simclr_cifar_32',
                 'simclr_224': 'simclr_224',
                 'field_mild_32': 'simclr_cifar_32'}
QUICK_SIZE, QUICK_BATCH = 16, 2
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _jaxaug_setting(case: str, quick: bool) -> tuple[int, int]:
  if quick and case != 'readme_example':
    return QUICK_SIZE, QUICK_BATCH
  return {'readme_example': (32, 8), 'simclr_cifar_32': (32, 256),
          'simclr_224': (224, 32), 'field_mild_32': (32, 256)}[case]


def _readme_example() -> dict[str, float]:
  """The README's quick example as written, timed; imports done before."""
  import jax
  import jax.numpy as jnp
  import jaxaug
  t0 = time.perf_counter()
  k_rot, k_warp, k_color, k_views = jax.random.split(jax.random.key(0), 4)
  image = jnp.full((64, 64, 3), 0.5)
  rotated = jaxaug.random_rotate(k_rot, image, angle=(-0.3, 0.3))
  warped = jaxaug.random_field_warp(k_warp, image, rotation=0.1,
                                    translation=2.0)
  recoloured = jaxaug.random_field_color(k_color, warped, hue=0.05,
                                         saturation=0.2)
  jax.block_until_ready((rotated, recoloured))
  t1 = time.perf_counter()
  aug = jaxaug.presets.simclr_cifar(32, random_field="mild")
  images = jnp.full((8, 32, 32, 3), 0.5)
  views1, views2 = jax.jit(
      lambda k, x: jaxaug.presets.two_views(k, x, aug))(k_views, images)
  jax.block_until_ready((views1, views2))
  t2 = time.perf_counter()
  assert views1.shape == (8, 32, 32, 3), views1.shape
  return {'eager_s': t1 - t0, 'jit_s': t2 - t1, 'total_s': t2 - t0}


def _builder(library: str, case: str, size: int, blur: bool
             ) -> Callable[[], Any]:
  """A function that builds the jitted `fn(key, images) -> two views`."""
  import jax
  if library == 'jaxaug':
    from jaxaug import presets
    if case == 'field_mild_32':
      make = lambda: presets.field_augmentation('mild')
    elif case == 'simclr_cifar_32':
      make = lambda: presets.simclr_cifar(size)
    elif case == 'simclr_224':
      make = lambda: presets.simclr(size)
    else:
      raise ValueError(case)

    def build():
      aug = make()
      return jax.jit(lambda key, x: presets.two_views(key, x, aug))
    return build
  from research.benchmarks import simclr_pipeline as sp
  # Import the peer library before the clock.
  __import__('augmax' if library == 'augmax' else 'dm_pix')
  return lambda: sp.PIPELINES[library](size, strength=sp.strength_for(size),
                                       blur=blur)


def measure(library: str, case: str, *, quick: bool = False
            ) -> dict[str, Any]:
  """First output of one pipeline in this process; seconds per step."""
  import jax
  import jaxaug  # pylint: disable=unused-import
  jax.devices()  # start the backend before the clock
  if library == 'jaxaug' and case == 'readme_example':
    split = _readme_example()
    size, batch = 32, 8
  else:
    if library == 'jaxaug':
      size, batch = _jaxaug_setting(case, quick)
      blur = case == 'simclr_224'
    else:
      size, batch, blur = PEER_SETTING[case]
      if quick:
        size, batch = QUICK_SIZE, QUICK_BATCH
    build = _builder(library, case, size, blur)
    key = jax.random.key(0)
    images = jax.random.uniform(jax.random.key(1), (batch, size, size, 3))
    jax.block_until_ready(images)
    t = [time.perf_counter()]
    fn = build()
    t.append(time.perf_counter())
    traced = fn.trace(key, images)
    t.append(time.perf_counter())
    lowered = traced.lower()
    t.append(time.perf_counter())
    compiled = lowered.compile()
    t.append(time.perf_counter())
    out = jax.block_until_ready(compiled(key, images))
    t.append(time.perf_counter())
    assert out[0].shape == (batch, size, size, 3), out[0].shape
    split = {f'{step}_s': b - a for step, a, b in zip(
        ('build', 'trace', 'lower', 'compile', 'run'), t[:-1], t[1:])}
    split['total_s'] = t[-1] - t[0]
  return {'library': library, 'case': case, 'size': size, 'batch': batch,
          'quick': quick, 'compared_with': COMPARED_WITH.get(case, case),
          'loadavg': os.getloadavg(), 'pid': os.getpid(), **split}


def run_in_subprocess(jobs: list[tuple[str, str]], *, quick: bool,
                      timeout: float = 900.) -> list[dict[str, Any]]:
  """`measure` for each (library, case) of `jobs`, all in ONE fresh process.

  The real benchmark passes one job per call (a fresh process per pipeline);
  the quick smoke run passes them all at once to save the start-ups.
  """
  import tempfile
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'out.json')
    cmd = [sys.executable, '-m', 'research.benchmarks.compile_time',
           '--json', path, '--jobs',
           ','.join(f'{lib}:{case}' for lib, case in jobs)]
    cmd += ['--quick'] if quick else []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    env.pop('JAX_COMPILATION_CACHE_DIR', None)
    try:
      proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
      return [{'library': lib, 'case': case,
               'error': f'timed out after {timeout:.0f} s'}
              for lib, case in jobs]
    if proc.returncode != 0 or not os.path.exists(path):
      tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
      return [{'library': lib, 'case': case,
               'error': f'exit {proc.returncode}: ' + ' | '.join(tail)}
              for lib, case in jobs]
    with open(path, encoding='utf-8') as f:
      return json.load(f)


def all_jobs() -> list[tuple[str, str]]:
  jobs = [('jaxaug', c) for c in JAXAUG_CASES]
  jobs += [(p, c) for c in PEER_SETTING for p in JAX_PEERS]
  return jobs


ROUNDS = 3


def _median_record(recs: list[dict[str, Any]]) -> dict[str, Any]:
  """The record of median total time (the upper middle one for an even
  count), with every round's total and their min / max added."""
  ordered = sorted(recs, key=lambda r: r['total_s'])
  rec = dict(ordered[len(ordered) // 2])
  rec['rounds'] = len(recs)
  rec['total_s_rounds'] = [r['total_s'] for r in recs]
  rec['total_s_min'] = ordered[0]['total_s']
  rec['total_s_max'] = ordered[-1]['total_s']
  return rec


def run(*, quick: bool, rounds: int = ROUNDS,
        log: Callable[[str], None] = print) -> list[Any]:
  """Every job in a fresh process, `rounds` times (`quick`: 3 tiny jobs in
  one process, once).

  The rounds go through all jobs in turn (job 1, job 2, ..., then again), so
  that background load on a shared machine hits every library alike; each
  job's value is the median of its rounds, with the min and max in its
  params.
  """
  from research.benchmarks import common
  if quick:
    # One case for jaxaug and each JAX peer, tiny, in one process (the
    # README example alone takes about 5 s: not in the smoke run).
    recs = run_in_subprocess([(lib, 'simclr_cifar_32')
                              for lib in ('jaxaug',) + JAX_PEERS], quick=True)
    groups = [[r] for r in recs]
  else:
    by_job: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(rounds):
      for job in all_jobs():
        by_job.setdefault(job, []).extend(run_in_subprocess([job],
                                                            quick=False))
    groups = list(by_job.values())
  out: list[Any] = []
  for group in groups:
    lib, case = group[0]['library'], group[0]['case']
    errors = [r['error'] for r in group if 'error' in r]
    if errors:
      log(f'  compile {case} {lib}: FAILED {errors[0]}')
      out.append({'benchmark': 'compile', 'name': case, 'library': lib,
                  'error': errors[0]})
      continue
    rec = _median_record(group)
    params = {k: v for k, v in rec.items() if k not in ('library', 'case')}
    params['fresh_process'] = not quick
    out.append(common.Measurement(
        benchmark='compile', name=case, library=lib, value=rec['total_s'],
        unit='s', seconds=rec['total_s'], repetitions=rec['rounds'],
        items=1, params=params,
        notes=('' if lib == 'jaxaug' else
               f'closest pipeline to jaxaug {case}: size {rec["size"]}, '
               f'batch {rec["batch"]}')))
    steps = ', '.join(f'{k[:-2]} {rec[k]:.2f}' for k in (
        'eager_s', 'jit_s', 'build_s', 'trace_s', 'lower_s', 'compile_s',
        'run_s') if k in rec)
    spread = (f' [{rec["total_s_min"]:.2f}-{rec["total_s_max"]:.2f}, '
              f'{rec["rounds"]} rounds]' if rec['rounds'] > 1 else '')
    log(f'  compile {case:16s} {lib:8s} {rec["total_s"]:6.2f} s{spread} '
        f'({steps})')
  return out


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--jobs', required=True,
                      help='comma-separated library:case pairs')
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--json', default=None)
  args = parser.parse_args(argv)
  recs = []
  for job in args.jobs.split(','):
    library, case = job.split(':')
    recs.append(measure(library, case, quick=args.quick))
  if args.json:
    with open(args.json, 'w', encoding='utf-8') as f:
      json.dump(recs, f)
  print(json.dumps(recs))


if __name__ == '__main__':
  main()
