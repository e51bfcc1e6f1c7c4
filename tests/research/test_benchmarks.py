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
    if m['unit'].endswith('/s'):
      # A rate is items per median second.
      assert math.isclose(m['value'], m['items'] / m['seconds'],
                          rel_tol=1e-6), m

  # Every library of each comparison is present, jaxaug included.
  libs = {(m['benchmark'], m['library']) for m in measurements}
  for lib in ('jaxaug', 'jaxaug_fixed_order', 'augmax', 'dm_pix', 'tf_data',
              'albumentations', 'albumentations_2workers'):
    assert ('simclr', lib) in libs
  for lib in ('jaxaug', 'jax_fft', 'numpy_fft', 'powerbox_jax',
              'powerbox_numpy', 'gstools_randmeth', 'gstools_fourier'):
    assert ('fields', lib) in libs
  names = {m['name'] for m in measurements if m['benchmark'] == 'training'}
  assert {'step_none', 'step_simclr', 'step_simclr+fields',
          'augment_fraction_simclr'} <= names

  ratios = result['ratios']
  assert {r['benchmark'] for r in ratios} == {'simclr', 'fields'}
  for r in ratios:
    assert r['ratio'] > 0 and math.isfinite(r['ratio'])

  md = (tmp_path / 'smoke.md').read_text(encoding='utf-8')
  assert 'SimCLR two-view pipeline' in md and 'jaxaug / best peer' in md
  assert 'Time to first output' in md
  assert 'Failed measurements' not in md
  assert figure.exists() and os.path.getsize(figure) > 1000
