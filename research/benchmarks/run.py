"""Runs the benchmarks and writes `results/<machine>.json` and `.md`.

Usage:
  python -m research.benchmarks.run [--machine cpu-2core] [--quick]
      [--only simclr,bandwidth,compile,fields,training,scaling] [--out DIR]
      [--figure PATH]

`make bench` runs everything (about 6-8 minutes on a 2-core CPU, plus the
first install of .venv-torch for the torchvision peer). `--quick`
runs every benchmark at tiny sizes (seconds of compute, for the smoke test);
its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import tempfile
import time
from typing import Any, Optional, Sequence

BENCHMARKS = ('simclr', 'bandwidth', 'compile', 'fields', 'training',
              'scaling')
# The `benchmark` field of the measurements each benchmark writes.
PRODUCES = {'simclr': ('simclr',), 'bandwidth': ('bandwidth',),
            'compile': ('compile',),
            'fields': ('fields', 'field_augment', 'field_costs'),
            'training': ('training',), 'scaling': ('scaling',)}
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _loadavg() -> Optional[str]:
  try:
    return ' '.join(f'{x:.2f}' for x in os.getloadavg())
  except OSError:
    return None


def _jsonable(x: Any) -> Any:
  if hasattr(x, 'to_dict'):
    return _jsonable(x.to_dict())
  if isinstance(x, dict):
    return {k: _jsonable(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [_jsonable(v) for v in x]
  if isinstance(x, float) and not math.isfinite(x):
    return None
  if hasattr(x, 'item'):
    return x.item()
  return x


def main(argv: Optional[Sequence[str]] = None) -> dict[str, Any]:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--machine', default=None,
                      help='result file name (default: cpu-<N>core or '
                      '<gpu kind>)')
  parser.add_argument('--quick', action='store_true',
                      help='tiny sizes: a smoke test, not a measurement')
  parser.add_argument('--only', default=','.join(BENCHMARKS),
                      help=f'comma-separated subset of {BENCHMARKS}')
  parser.add_argument('--out', default=None,
                      help='directory for <machine>.json and <machine>.md '
                      '(default: the committed research/benchmarks/results, '
                      'or a new temporary directory with --quick)')
  parser.add_argument('--figure', default=None,
                      help='figure path (default: the committed '
                      'docs/figures/benchmarks.png, or <out>/benchmarks.png '
                      'with --quick; "" to skip)')
  parser.add_argument('--merge', action='store_true',
                      help='keep the measurements of the other benchmarks '
                      'already in <machine>.json (rerun a subset)')
  parser.add_argument('--train-batch', type=int, default=None,
                      help='batch of the training-step benchmark (default 32)')
  args = parser.parse_args(argv)
  if args.out is None:
    # A smoke run never overwrites the committed results and figure.
    args.out = (tempfile.mkdtemp(prefix='jaxaug-bench-quick-') if args.quick
                else os.path.join(HERE, 'results'))
  if args.figure is None:
    args.figure = (os.path.join(args.out, 'benchmarks.png') if args.quick
                   else os.path.join(REPO, 'docs', 'figures',
                                     'benchmarks.png'))

  import jax
  from research.benchmarks import common

  names = [n.strip() for n in args.only.split(',') if n.strip()]
  unknown = sorted(set(names) - set(BENCHMARKS))
  if unknown:
    parser.error(f'unknown benchmarks {unknown}; choose from {BENCHMARKS}')
  if not names:
    parser.error(f'--only names no benchmark; choose from {BENCHMARKS}')
  machine = args.machine
  if machine is None:
    dev = jax.devices()[0]
    machine = (f'cpu-{os.cpu_count()}core' if dev.platform == 'cpu' else
               dev.device_kind.lower().replace(' ', '-'))

  def log(msg: str) -> None:
    print(msg, flush=True)

  meta = common.machine_info()
  meta.update(
      timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec='seconds'),
      quick=args.quick, benchmarks=names, loadavg_start=_loadavg(),
      versions=common.library_versions(
          ['jax', 'jaxlib', 'augmax', 'dm-pix', 'gstools', 'powerbox', 'flax',
           'optax', 'numpy', 'tensorflow-cpu', 'albumentations']),
      command=' '.join(['python -m research.benchmarks.run'] +
                       list(argv if argv is not None else sys.argv[1:])))
  measurements: list[Any] = []
  durations = {}
  for name in names:
    log(f'[{name}]')
    t0 = time.perf_counter()
    if name == 'simclr':
      from research.benchmarks import simclr_pipeline as mod
      measurements += mod.run(quick=args.quick, log=log)
    elif name == 'bandwidth':
      from research.benchmarks import bandwidth as mod
      measurements += mod.run(quick=args.quick, log=log)
    elif name == 'compile':
      from research.benchmarks import compile_time as mod
      measurements += mod.run(quick=args.quick, log=log)
    elif name == 'fields':
      from research.benchmarks import fields_bench as mod
      measurements += mod.run(quick=args.quick, log=log)
    elif name == 'training':
      from research.benchmarks import training as mod
      measurements += mod.run(quick=args.quick, log=log,
                              batch=args.train_batch)
    elif name == 'scaling':
      from research.benchmarks import scaling as mod
      measurements += mod.run(quick=args.quick, log=log)
    durations[name] = time.perf_counter() - t0
    log(f'[{name}] {durations[name]:.0f} s')
  meta['loadavg_end'] = _loadavg()
  meta['durations_s'] = durations

  json_path = os.path.join(args.out, f'{machine}.json')
  if args.merge and os.path.exists(json_path):
    with open(json_path, encoding='utf-8') as f:
      previous = json.load(f)
    rerun = {kind for name in names for kind in PRODUCES[name]}
    kept = [m for m in previous['measurements']
            if m.get('benchmark') not in rerun]
    measurements = kept + measurements
    # Every earlier run whose tables are kept, newest first, each with the
    # benchmarks it ran (a chain of --merge runs keeps all of them).
    prev = previous['meta']
    entry = {k: prev.get(k) for k in ('timestamp', 'loadavg_start',
                                       'loadavg_end', 'command')}
    entry['benchmarks'] = prev.get('benchmarks_run', prev.get('benchmarks'))
    earlier = prev.get('merged_with') or []
    meta['merged_with'] = [entry] + (
        [earlier] if isinstance(earlier, dict) else list(earlier))
    meta['benchmarks_run'] = names
    meta['benchmarks'] = sorted(
        set(names) | set(previous['meta'].get('benchmarks', [])))

  if args.figure and 'simclr' in meta['benchmarks']:
    # The markdown names the figure this run writes.
    fig = os.path.abspath(args.figure)
    meta['figure'] = (os.path.relpath(fig, REPO)
                      if fig.startswith(os.path.abspath(REPO) + os.sep)
                      else fig)
  else:
    meta.pop('figure', None)
  from research.benchmarks import report
  result = _jsonable({'machine': machine, 'meta': meta,
                      'measurements': measurements})
  result['ratios'] = report.ratios(result)
  os.makedirs(args.out, exist_ok=True)
  with open(json_path, 'w', encoding='utf-8') as f:
    json.dump(result, f, indent=1)
  md = report.markdown(result)
  with open(os.path.join(args.out, f'{machine}.md'), 'w',
            encoding='utf-8') as f:
    f.write(md + '\n')
  if meta.get('figure'):
    from research.benchmarks import figure
    figure.plot(result['measurements'], args.figure,
                title=('QUICK MODE (tiny sizes, numbers meaningless): '
                       if args.quick else '') +
                f'SimCLR two views, {machine}, JAX '
                f'{meta["jax_version"]}, {meta["timestamp"]}, load '
                f'{meta.get("loadavg_start")}')
  log(md)
  log(f'wrote {json_path}' + (f" and {meta['figure']}"
                               if meta.get('figure') else ''))
  return result


if __name__ == '__main__':
  main()
