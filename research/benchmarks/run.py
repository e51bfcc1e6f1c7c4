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
import re
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
  if hasattr(x, 'item'):  # NumPy / JAX scalars, NaN included
    x = x.item()
  if isinstance(x, float) and not math.isfinite(x):
    return None
  return x


# Figure formats written by matplotlib's Agg backend that this project uses.
FIGURE_FORMATS = ('.png', '.pdf', '.svg', '.jpg', '.jpeg')


def _check_machine(parser: argparse.ArgumentParser, machine: str) -> None:
  # It names the results files: letters, digits, '.', '_', '-' only.
  if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9._-]{0,99}', machine):
    parser.error(f'--machine must be 1-100 characters of letters, digits, '
                 f'".", "_" or "-", starting with a letter or digit (it '
                 f'names the results files), got {machine!r}')


def _check_writable_dir(parser: argparse.ArgumentParser, flag: str,
                        path: str) -> None:
  """`path` is, or can be created as, a directory this process can write
  in: tried with a temporary file in it or in its nearest existing parent
  (removed at once), since `os.access` says yes to root everywhere."""
  if os.path.lexists(path) and not os.path.exists(path):
    parser.error(f'{flag}: {path!r} is a dangling symbolic link')
  if os.path.exists(path) and not os.path.isdir(path):
    parser.error(f'{flag}: {path!r} exists and is not a directory')
  parent = os.path.abspath(path)
  while not os.path.lexists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    parser.error(f'{flag}: cannot create {path!r}: {parent!r} is not a '
                 f'directory')
  try:
    with tempfile.TemporaryFile(dir=parent):
      pass
  except OSError as e:
    parser.error(f'{flag}: cannot write in {parent!r} ({e.strerror})')


def _check_out(parser: argparse.ArgumentParser, out: str) -> None:
  if not out:
    parser.error('--out must name a directory, got an empty string')
  _check_writable_dir(parser, '--out', out)


def _check_figure(parser: argparse.ArgumentParser, figure: str) -> None:
  if figure.endswith(('/', os.sep)) or os.path.isdir(figure):
    parser.error(f'--figure must be a file path, got the directory '
                 f'{figure!r}')
  ext = os.path.splitext(figure)[1].lower()
  if ext not in FIGURE_FORMATS:
    parser.error(f'--figure must end in one of {FIGURE_FORMATS} (the saved '
                 f'format), got {figure!r}')
  _check_writable_dir(parser, '--figure',
                      os.path.dirname(os.path.abspath(figure)))


def _finite_or_error(m: dict[str, Any]) -> dict[str, Any]:
  """A measurement whose value, seconds or timed calls came out NaN or
  infinite (None after `_jsonable`) becomes an error record: the report and
  figure need numbers, and an impossible timing is a failure."""
  if 'value' not in m:
    return m
  times = (m.get('params') or {}).get('times_s') or []
  if (m['value'] is not None and m.get('seconds', 0) is not None
      and None not in times):
    return m
  return {'benchmark': m.get('benchmark'), 'name': m.get('name'),
          'library': m.get('library'),
          'error': f"non-finite value (unit {m.get('unit')})"}


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
  # Every argument is checked here, before any benchmark runs and before
  # anything is written.
  names = list(dict.fromkeys(n.strip() for n in args.only.split(',')
                             if n.strip()))
  unknown = sorted(set(names) - set(BENCHMARKS))
  if unknown:
    parser.error(f'unknown benchmarks {unknown}; choose from {BENCHMARKS}')
  if not names:
    parser.error(f'--only names no benchmark; choose from {BENCHMARKS}')
  if args.train_batch is not None and args.train_batch < 1:
    parser.error(f'--train-batch must be a positive number of images, got '
                 f'{args.train_batch}')
  if args.machine is not None:
    _check_machine(parser, args.machine)
  if args.out is not None:
    _check_out(parser, args.out)
  if args.figure:
    _check_figure(parser, args.figure)
  if args.merge and args.quick and args.out is None:
    parser.error('--merge with --quick needs --out: a quick run without it '
                 'writes to a new temporary directory, with nothing to merge')
  # jax (and numpy, under it) is imported before the temporary directory
  # and the SIGTERM handler: a SIGTERM inside those imports' extension
  # modules could otherwise end the process without the clean-up below.
  import jax  # pylint: disable=unused-import
  made_tmp = None
  if args.out is None:
    # A smoke run never overwrites the committed results and figure.
    if args.quick:
      args.out = made_tmp = tempfile.mkdtemp(prefix='jaxaug-bench-quick-')
    else:
      args.out = os.path.join(HERE, 'results')
  if args.figure is None:
    args.figure = (os.path.join(args.out, 'benchmarks.png') if args.quick
                   else os.path.join(REPO, 'docs', 'figures',
                                     'benchmarks.png'))

  import signal
  import threading
  on_main = threading.current_thread() is threading.main_thread()
  # SIGTERM (e.g. `kill PID` of this process alone) becomes SystemExit, so
  # that a running subprocess (host peers, compile rounds) is killed with
  # it instead of running on, orphaned.
  _TERMINATED.clear()
  old = (signal.signal(signal.SIGTERM, _exit_on_sigterm) if on_main
         else None)
  try:
    return _run(parser, args, argv, names)
  except BaseException:
    if made_tmp and os.path.isdir(made_tmp) and not os.listdir(made_tmp):
      os.rmdir(made_tmp)  # an interrupted smoke run leaves nothing behind
    raise
  finally:
    if on_main:
      signal.signal(signal.SIGTERM, old)


def _write_atomic(path: str, text: str) -> None:
  tmp = f'{path}.partial'
  with open(tmp, 'w', encoding='utf-8') as f:
    f.write(text)
  os.replace(tmp, path)


_TERMINATED: list[int] = []


def _exit_on_sigterm(signum, frame):  # pylint: disable=unused-argument
  # Also remembered: a SystemExit raised inside a callback (e.g. JAX's gc
  # callback) is printed and dropped, so `_run` checks the flag between
  # benchmarks and before writing.
  _TERMINATED.append(signum)
  sys.exit(128 + signum)


def _stop_if_terminated() -> None:
  if _TERMINATED:
    sys.exit(128 + _TERMINATED[0])


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace,
         argv: Optional[Sequence[str]], names: list[str]) -> dict[str, Any]:
  """The benchmarks `names` of `main`, after its argument checks."""
  import jax
  from research.benchmarks import common

  machine = args.machine
  if machine is None:
    dev = jax.devices()[0]
    machine = (f'cpu-{os.cpu_count()}core' if dev.platform == 'cpu' else
               dev.device_kind.lower().replace(' ', '-'))
  json_path = os.path.join(args.out, f'{machine}.json')
  md_path = os.path.join(args.out, f'{machine}.md')
  for path in (json_path, md_path):
    if os.path.isdir(path):
      parser.error(f'--out/--machine: the results file {path!r} is a '
                   f'directory')
  previous = None
  if args.merge and os.path.exists(json_path):
    # Read and checked before the run: a file that cannot be merged is an
    # error now, not after minutes of benchmarks.
    try:
      with open(json_path, encoding='utf-8') as f:
        previous = json.load(f)
      ok = (isinstance(previous, dict)
            and isinstance(previous.get('meta'), dict)
            and isinstance(previous['meta'].get('quick'), bool)
            and isinstance(previous['meta'].get('benchmarks'), list)
            and isinstance(previous.get('measurements'), list)
            and all(isinstance(m, dict) for m in previous['measurements']))
    except (OSError, ValueError) as e:
      parser.error(f'--merge: cannot read {json_path} ({type(e).__name__}: '
                   f'{e})')
    if not ok:
      parser.error(f'--merge: {json_path} is not a results file of this '
                   f'runner (a "meta" with "quick" and "benchmarks", and a '
                   f'list of "measurements")')
    if previous.get('machine') != machine:
      parser.error(f'--merge: {json_path} holds results of machine '
                   f'{previous.get("machine")!r}, not {machine!r}')
    was_quick = previous['meta']['quick']
    if was_quick != args.quick:
      parser.error(f'--merge: {json_path} holds a '
                   f'{"--quick" if was_quick else "full"} run; this is a '
                   f'{"--quick" if args.quick else "full"} run, and the two '
                   f'cannot share one results file')

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
    _stop_if_terminated()
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

  if previous is not None:
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
    if args.figure:
      log('no figure drawn: it shows the simclr comparison, which this run '
          'and its merged file do not have')
  from research.benchmarks import report
  result = _jsonable({'machine': machine, 'meta': meta,
                      'measurements': measurements})
  result['measurements'] = [_finite_or_error(m)
                            for m in result['measurements']]
  result['ratios'] = report.ratios(result)
  md = report.markdown(result)
  _stop_if_terminated()
  os.makedirs(args.out, exist_ok=True)
  # Each file is written whole and then renamed over the old one: a run
  # killed while writing leaves the previous results intact.
  _write_atomic(json_path, json.dumps(result, indent=1))
  _write_atomic(md_path, md + '\n')
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
