"""Smoke test: every benchmark runs at tiny size and writes a valid result file.

No timing assertions: only the schema (keys, units, positive finite numbers),
the markdown table and the scaling figure.
"""

import json
import math
import os

from research.benchmarks import run

UNITS = {
    'simclr': {'views/s'},
    'bandwidth': {'GB/s'},
    'compile': {'s'},
    'fields': {'fields/s'},
    'field_augment': {'images/s'},
    'field_costs': {'x batch', 'x irfft'},
    'training': {'s/step', 's/batch', 'fraction'},
    'scaling': {'views/s'},
}
KEYS = {'benchmark', 'name', 'library', 'value', 'unit', 'seconds',
        'repetitions', 'items', 'params', 'notes'}


def test_quick_run_writes_valid_results(tmp_path):
  figure = tmp_path / 'fig.png'
  run.main(['--quick', '--machine', 'smoke', '--out', str(tmp_path),
            '--figure', str(figure)])
  _check_results(tmp_path, figure)


def _check_results(tmp_path, figure):
  # Files are written whole and renamed: no partial file is left.
  assert not list(tmp_path.glob('*.partial*')), list(tmp_path.iterdir())

  with open(tmp_path / 'smoke.json', encoding='utf-8') as f:
    result = json.load(f)
  assert result['machine'] == 'smoke'
  meta = result['meta']
  for key in ('jax_version', 'cpu_count', 'platform', 'timestamp',
              'jax_backend', 'versions'):
    assert meta[key], key
  assert meta['quick'] is True

  measurements = result['measurements']
  errors = [m for m in measurements if 'error' in m]
  assert not errors, errors
  # A peer that is not installed (torchvision: torch is no test dependency)
  # is recorded as skipped, with the reason, never left out silently.
  skipped = [m for m in measurements if 'skipped' in m]
  for m in skipped:
    assert m['library'] in ('torchvision', 'torchvision_2workers'), m
    assert m['skipped'], m
  measurements = [m for m in measurements if 'skipped' not in m]
  assert {m['benchmark'] for m in measurements} == set(UNITS)

  for m in measurements:
    assert set(m) == KEYS, m
    assert m['unit'] in UNITS[m['benchmark']], m
    assert isinstance(m['value'], float) and math.isfinite(m['value']), m
    # Fractions may be exactly 0 (augmentation hidden in noise); rates and
    # times must be positive.
    assert m['value'] >= 0 if m['unit'] == 'fraction' else m['value'] > 0, m
    assert m['seconds'] > 0 and math.isfinite(m['seconds']), m
    assert m['repetitions'] >= 1 and m['items'] >= 1, m
    if m['unit'] == 'GB/s':
      # Bytes moved per median second, in 1e9 bytes.
      assert math.isclose(m['value'], m['items'] / m['seconds'] / 1e9,
                          rel_tol=1e-6), m
    elif m['unit'].endswith('/s'):
      # A rate is items per median second.
      assert math.isclose(m['value'], m['items'] / m['seconds'],
                          rel_tol=1e-6), m

  # Every library of each comparison is present, jaxaug included.
  libs = {(m['benchmark'], m['library']) for m in measurements}
  for lib in ('jaxaug', 'jaxaug_fixed_order', 'augmax', 'dm_pix', 'tf_data',
              'albumentations', 'albumentations_2workers'):
    assert ('simclr', lib) in libs
  for lib in ('torchvision', 'torchvision_2workers'):
    assert (('simclr', lib) in libs) != any(
        m['library'] == lib for m in skipped), lib
  for lib in ('jaxaug', 'dm_pix', 'augmax'):
    assert ('compile', lib) in libs
  for lib in ('jaxaug', 'jax_fft', 'numpy_fft', 'powerbox_jax',
              'powerbox_numpy', 'gstools_randmeth', 'gstools_fourier'):
    assert ('fields', lib) in libs
  names = {m['name'] for m in measurements if m['benchmark'] == 'training'}
  assert {'step_none', 'step_simclr', 'step_simclr+fields',
          'augment_fraction_simclr'} <= names

  ratios = result['ratios']
  assert {r['benchmark'] for r in ratios} == {'simclr', 'fields', 'compile'}
  for r in ratios:
    assert r['ratio'] > 0 and math.isfinite(r['ratio'])

  md = (tmp_path / 'smoke.md').read_text(encoding='utf-8')
  assert 'SimCLR two-view pipeline' in md and 'jaxaug / best peer' in md
  assert 'Time to first output' in md
  assert 'Memory-bandwidth floor' in md
  assert "Time to first output of jaxaug's pipelines" in md
  assert 'jaxaug / slowest JAX peer' in md
  assert 'Failed measurements' not in md
  for m in skipped:
    assert f"simclr {m['name']} {m['library']}: {m['skipped']}" in md
  assert figure.exists() and os.path.getsize(figure) > 1000
  # The tables name the figure this run wrote, not the committed one.
  assert meta['figure'] == str(figure)
  assert f'plot in `{figure}`' in md
  assert f'Figure of this run: `{figure}`' in md
  assert 'docs/figures/benchmarks.png' not in md


def test_bandwidth_floor_bytes():
  from research.benchmarks import bandwidth
  # 224x224x3 float32: half an input image per view (read once for two
  # views) plus one output view.
  assert bandwidth.bytes_per_view(224) == 1.5 * 224 * 224 * 3 * 4
  result = {'measurements': [
      {'benchmark': 'bandwidth', 'library': 'numpy_copy', 'value': 9.0328},
      {'benchmark': 'simclr', 'library': 'jaxaug', 'name': 'simclr_224',
       'value': 100.0, 'params': {'size': 224}}]}
  lines = bandwidth.markdown_lines(result)
  # 9.0328e9 B/s / 903,168 B = 10,001 views/s floor; 100x above it.
  assert any('| simclr_224 | 903 kB | 10,001 | 100 | 100x |' in l
             for l in lines), lines


def test_torchvision_peer_without_torch_is_skipped_with_reason(monkeypatch):
  from research.benchmarks import simclr_pipeline
  from research.benchmarks import torch_peers
  monkeypatch.setenv(torch_peers.TORCH_PYTHON_ENV, '/nonexistent/python')
  logged = []
  rec = simclr_pipeline.bench_host('torchvision', name='simclr_16', size=16,
                                   batch=2, repetitions=1, blur=False,
                                   log=logged.append)
  assert rec['library'] == 'torchvision' and 'value' not in rec
  assert '/nonexistent/python does not exist' in rec['skipped']
  assert 'skipped' in logged[0]


def test_compile_benchmark_times_the_readme_example_as_written():
  """Every statement of README.md's quick example is in the timed code."""
  import inspect
  import re
  from research.benchmarks import compile_time
  root = os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))))
  with open(os.path.join(root, 'README.md'), encoding='utf-8') as f:
    readme = f.read()
  block = re.search(r'## Quick example\s+```python\n(.*?)```', readme,
                    re.S).group(1)
  source = re.sub(r'\s', '', inspect.getsource(compile_time._readme_example))
  for line in block.splitlines():
    code = line.split('#')[0].strip()
    if not code or code.startswith(('import ', 'print(')):
      continue
    assert re.sub(r'\s', '', code) in source, line


def test_run_refuses_an_empty_only_and_quick_defaults_elsewhere(monkeypatch,
                                                                tmp_path):
  import pytest
  with pytest.raises(SystemExit):
    run.main(['--only', ',', '--quick'])
  # --quick without --out/--figure writes to a new temporary directory,
  # never over the committed results and figure.
  monkeypatch.setattr(run.tempfile, 'tempdir', str(tmp_path))
  run.main(['--quick', '--only', 'bandwidth', '--machine', 'q'])
  made = list(tmp_path.glob('jaxaug-bench-quick-*'))
  assert len(made) == 1 and (made[0] / 'q.json').exists()


def test_host_peer_with_an_unrunnable_interpreter_is_an_error(monkeypatch,
                                                              tmp_path):
  from research.benchmarks import host_peers
  from research.benchmarks import torch_peers
  monkeypatch.setenv(torch_peers.TORCH_PYTHON_ENV, str(tmp_path))
  rec = host_peers.run_in_subprocess('torchvision', size=16, batch=2,
                                     rounds=1, blur=False)
  assert 'value' not in rec and ('error' in rec or 'skipped' in rec), rec


def test_compile_rounds_median_and_spread():
  from research.benchmarks import compile_time, report
  recs = [{'library': 'jaxaug', 'case': 'c', 'total_s': t, 'trace_s': t / 10}
          for t in (3.0, 1.0, 2.0)]
  rec = compile_time._median_record(recs)  # pylint: disable=protected-access
  # The median round's own split, all rounds' totals and their range.
  assert rec['total_s'] == 2.0 and rec['trace_s'] == 0.2
  assert rec['total_s_rounds'] == [3.0, 1.0, 2.0]
  assert (rec['total_s_min'], rec['total_s_max'], rec['rounds']) == (
      1.0, 3.0, 3)
  m = {'params': rec}
  assert report._spread_s(m) == ' [1.00-3.00]'  # pylint: disable=protected-access
  assert report._spread_s({'params': {'rounds': 1}}) == ''  # pylint: disable=protected-access
  # Even counts take the upper middle round (a real round, not a mean).
  assert compile_time._median_record(recs[:2])['total_s'] == 3.0  # pylint: disable=protected-access


def test_scaling_and_training_tables_show_the_spread_of_their_calls():
  from research.benchmarks import report
  scaling = {'benchmark': 'scaling', 'name': 'size_sweep', 'library': 'jaxaug',
             'value': 400.0, 'items': 64,
             'params': {'sweep': 'size', 'batch': 32, 'size': 224,
                        'times_s': [0.16, 0.32, 0.08]}}
  train = {'params': {'model': 'resnet18', 'batch': 32, 'views': 64,
                      'size': 32}}
  steps = [dict(train, benchmark='training', name='step_none', value=2.0,
                params=dict(train['params'], times_s=[2.0, 1.5, 2.5])),
           dict(train, benchmark='training', name='step_simclr', value=2.1,
                params=dict(train['params'], times_s=[2.1]))]
  meta = {'timestamp': 't', 'jax_version': 'v', 'jax_backend': 'cpu'}
  text = report.markdown({'machine': 'm', 'meta': meta,
                          'measurements': [scaling] + steps})
  # 64 views in 0.32 s (slowest) and 0.08 s (fastest), from 3 timed calls.
  assert '| size | 32 | 224 | 400 | 200 / 800 | 3 |' in text, text
  # A step's [min-max] when it has several calls, nothing for one.
  assert '| none | 2.00 [1.50-2.50] |' in text, text
  assert '| simclr | 2.10 |' in text, text


def test_warmup_rounds_run_untimed_for_jax_and_host_peers(monkeypatch):
  import numpy as np
  from research.benchmarks import host_peers, simclr_pipeline
  calls = []

  def counting(*args, **kwargs):  # pylint: disable=unused-argument
    def fn(key=None, images=None):  # pylint: disable=unused-argument
      calls.append(1)
      return np.zeros((2, 8, 8, 3), np.float32), None
    return fn

  monkeypatch.setattr(simclr_pipeline, 'pipeline', counting)
  (m,) = simclr_pipeline.bench_interleaved(
      ['jaxaug'], name='t', size=8, batch=2, repetitions=4, blur=False,
      log=lambda s: None, warmup_rounds=3)
  # The first call (compilation), 3 untimed rounds, 4 timed ones.
  assert len(calls) == 1 + 3 + 4
  assert len(m.params['times_s']) == 4 and m.params['warmup_rounds'] == 3

  calls.clear()
  monkeypatch.setattr(host_peers, 'albumentations_pipeline', counting)
  rec = host_peers.measure('albumentations', 8, 2, rounds=2, blur=False,
                           warmup=5)
  assert len(calls) == 1 + 5 + 2
  assert len(rec['times_s']) == 2 and rec['warmup'] == 5


def test_bad_arguments_fail_before_any_work_and_leave_nothing(
    monkeypatch, tmp_path, capsys):
  import pytest
  from research.benchmarks import bandwidth, host_peers
  ran = []
  monkeypatch.setattr(bandwidth, 'run', lambda **kw: ran.append(1) or [])
  work = tmp_path / 'work'
  work.mkdir()
  (work / 'afile').write_text('x')
  monkeypatch.chdir(work)
  monkeypatch.setattr(run.tempfile, 'tempdir', str(work))
  cases = [(['--out', 'afile'], '--out'), (['--out', ''], '--out'),
           (['--machine', 'a/b'], '--machine'),
           (['--machine', ''], '--machine'),
           (['--figure', 'fig.xyz'], '--figure'),
           (['--figure', 'noext'], '--figure'),
           (['--figure', str(work) + '/'], '--figure'),
           (['--train-batch', '0'], '--train-batch'),
           (['--only', 'bandwidth,nope'], 'nope'),
           (['--machine', 'm' * 101], '--machine'),
           (['--machine', 'a b'], '--machine'),
           (['--out', 'dangling'], 'dangling'),
           (['--figure', 'afile/x.png'], '--figure'),
           (['--out', 'clash', '--machine', 'm'], 'is a directory'),
           (['--merge'], '--merge')]
  (work / 'dangling').symlink_to(work / 'nowhere')
  (work / 'clash' / 'm.json').mkdir(parents=True)
  for extra, named in cases:
    with pytest.raises(SystemExit):
      run.main(['--quick', '--only', 'bandwidth'] + extra)
    assert named in capsys.readouterr().err, extra
  assert not ran
  assert sorted(p.name for p in work.iterdir()) == ['afile', 'clash',
                                                     'dangling']
  assert [p.name for p in (work / 'clash').iterdir()] == ['m.json']

  # A quick results file cannot take a full run's results, nor the reverse.
  run.main(['--quick', '--only', 'bandwidth', '--out', 'q', '--figure', ''])
  ran.clear()
  with pytest.raises(SystemExit):
    run.main(['--only', 'bandwidth', '--out', 'q', '--merge', '--figure', ''])
  assert '--merge' in capsys.readouterr().err and not ran
  # Nor one of another machine, nor a file that is no results file.
  run.main(['--quick', '--only', 'bandwidth', '--out', 'o', '--machine', 'a',
            '--figure', ''])
  os.rename(work / 'o' / 'a.json', work / 'o' / 'b.json')
  (work / 'o' / 'c.json').write_text('{"meta": [], "measurements": []}')
  ran.clear()
  for machine in ('b', 'c'):
    with pytest.raises(SystemExit):
      run.main(['--quick', '--only', 'bandwidth', '--out', 'o', '--merge',
                '--machine', machine, '--figure', ''])
    assert '--merge' in capsys.readouterr().err and not ran

  # Duplicates in --only run once.
  run.main(['--quick', '--only', 'bandwidth, bandwidth', '--out', 'd',
            '--figure', ''])
  assert len(ran) == 1

  for extra, named in ((['--rounds', '0'], '--rounds'),
                       (['--warmup', '-1'], '--warmup'),
                       (['--batch', '0'], '--batch')):
    with pytest.raises(SystemExit):
      host_peers.main(['--peer', 'albumentations', '--size', '8',
                       '--batch', '2'] + extra)
    assert named in capsys.readouterr().err


def test_a_non_finite_measurement_is_recorded_as_an_error(monkeypatch,
                                                         tmp_path):
  import numpy as np
  from research.benchmarks import bandwidth, common
  bad = common.Measurement(
      benchmark='bandwidth', name='jit_scale', library='jax',
      value=np.float32('nan'), unit='GB/s', seconds=0.0, repetitions=1,
      items=1, params={'first_call_s': np.float32('inf')})
  monkeypatch.setattr(bandwidth, 'run', lambda **kw: [bad])
  result = run.main(['--quick', '--only', 'bandwidth', '--out',
                     str(tmp_path), '--machine', 'm', '--figure', ''])
  (rec,) = result['measurements']
  assert 'value' not in rec and 'non-finite' in rec['error'], rec
  # The file is valid JSON (no bare NaN) and the markdown was written.
  with open(tmp_path / 'm.json', encoding='utf-8') as f:
    text = f.read()
  assert 'NaN' not in text and 'Infinity' not in text
  json.loads(text)
  assert (tmp_path / 'm.md').exists()
  # A NaN among the timed calls is an error record too.
  good = common.Measurement(
      benchmark='bandwidth', name='jit_scale', library='jax', value=1.0,
      unit='GB/s', seconds=1.0, repetitions=2, items=1,
      params={'times_s': [1.0, float('nan')]})
  monkeypatch.setattr(bandwidth, 'run', lambda **kw: [good])
  result = run.main(['--quick', '--only', 'bandwidth', '--out',
                     str(tmp_path), '--machine', 'm', '--figure', ''])
  assert 'error' in result['measurements'][0], result['measurements']
