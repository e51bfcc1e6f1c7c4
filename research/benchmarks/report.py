"""Markdown tables (for the README) from a benchmark result file."""

from __future__ import annotations

from typing import Any


def _rows(result: dict[str, Any], benchmark: str) -> list[dict[str, Any]]:
  return [m for m in result['measurements']
          if m.get('benchmark') == benchmark and 'value' in m]


def _fmt(x: float) -> str:
  if x >= 100:
    return f'{x:,.0f}'
  if x >= 10:
    return f'{x:.1f}'
  if x >= 0.1:
    return f'{x:.2f}'
  return f'{x:.3g}'


def spread(m: dict[str, Any]) -> tuple[float, float]:
  """(rate at the slowest timed call, rate at the fastest) of a record."""
  times = m.get('params', {}).get('times_s') or []
  if not times:
    return m['value'], m['value']
  return m['items'] / max(times), m['items'] / min(times)


def ratios(result: dict[str, Any]) -> list[dict[str, Any]]:
  """jaxaug / best peer per comparable group (simclr and fields); compile:
  jaxaug's time to first output / the slowest JAX peer's."""
  out = []
  groups: dict[tuple[str, str], dict[str, float]] = {}
  for m in result['measurements']:
    if m.get('benchmark') in ('simclr', 'fields') and 'value' in m:
      groups.setdefault((m['benchmark'], m['name']), {})[m['library']] = (
          m['value'])
  for (bench, name), libs in groups.items():
    if 'jaxaug' not in libs:
      continue
    peers = {k: v for k, v in libs.items() if not k.startswith('jaxaug')}
    if not peers:
      continue
    best = max(peers, key=peers.get)
    if peers[best] <= 0:  # no peer produced anything: no ratio to give
      continue
    entry = {'benchmark': bench, 'name': name, 'best_peer': best,
             'jaxaug': libs['jaxaug'], 'best_peer_value': peers[best],
             'ratio': libs['jaxaug'] / peers[best]}
    if 'jaxaug_fixed_order' in libs:
      entry['ratio_fixed_order'] = libs['jaxaug_fixed_order'] / peers[best]
    if bench == 'fields':
      # The fields target is against the bare JAX sampler and powerbox's JAX
      # backend, i.e. JAX implementations of the same padded FFT.
      jax_peers = {k: v for k, v in peers.items()
                   if k in ('jax_fft', 'powerbox_jax')}
      if jax_peers:
        b = max(jax_peers, key=jax_peers.get)
        entry.update(best_jax_peer=b, ratio_vs_best_jax_peer=(
            libs['jaxaug'] / jax_peers[b]))
      slow = {k: v for k, v in peers.items() if k.startswith('gstools')}
      if slow:
        entry['ratio_vs_best_gstools'] = libs['jaxaug'] / max(slow.values())
    out.append(entry)
  out += _compile_ratios(result)
  return out


def _compile_ratios(result: dict[str, Any]) -> list[dict[str, Any]]:
  """jaxaug's time to first output / the slowest JAX peer's, per case."""
  rows = _rows(result, 'compile')
  out = []
  for m in rows:
    if m['library'] != 'jaxaug':
      continue
    against = m['params'].get('compared_with', m['name'])
    peers = {p['library']: p['value'] for p in rows
             if p['name'] == against and p['library'] != 'jaxaug'}
    if not peers:
      continue
    slowest = max(peers, key=peers.get)
    out.append({'benchmark': 'compile', 'name': m['name'],
                'compared_with': against, 'slowest_jax_peer': slowest,
                'jaxaug': m['value'], 'slowest_jax_peer_value': peers[slowest],
                'ratio': m['value'] / peers[slowest]})
  return out


# SimCLR comparison row whose host peers' first calls go beside a compile case.
_HOST_ROW = {'simclr_cifar_32': 'simclr_cifar_32', 'simclr_224': 'simclr_224'}


def _seconds_range(m: dict[str, Any]) -> str:
  """' [min-max]' of a record's timed calls in seconds ('' for < 2 calls)."""
  times = m.get('params', {}).get('times_s') or []
  if len(times) < 2:
    return ''
  return f' [{_fmt(min(times))}-{_fmt(max(times))}]'


def _spread_s(m: dict[str, Any]) -> str:
  """' [min-max]' of a compile measurement's rounds ('' for one round)."""
  p = m['params']
  if p.get('rounds', 1) < 2:
    return ''
  return f" [{p['total_s_min']:.2f}-{p['total_s_max']:.2f}]"


def _compile_table(result: dict[str, Any]) -> list[str]:
  rows = _rows(result, 'compile')
  if not rows:
    return []
  fresh = all(m['params'].get('fresh_process') for m in rows)
  rounds = max(m['params'].get('rounds', 1) for m in rows)
  peers = sorted({m['library'] for m in rows if m['library'] != 'jaxaug'})
  lines = ['**Time to first output of jaxaug\'s pipelines** (s, '
           + (f'median of {rounds} fresh processes, [min-max] of the '
              'rounds in brackets' if fresh and rounds > 1 else
              'each in a fresh process' if fresh else
              'quick mode: all in one process, once') +
           '; from building the pipeline to `block_until_ready` of the '
           'first output, imports and backend start excluded; split: '
           'trace / lower / compile / run of the jitted two views, or the '
           'README example\'s eager ops + jitted two views; the JAX peers on '
           'their closest pipeline; host peers: their single first call in '
           'the SimCLR comparison above)', '',
           '| jaxaug pipeline | batch | jaxaug | split | '
           + ' | '.join(peers) + ' | jaxaug / slowest JAX peer | '
           'host peers\' first call |',
           '|---|---:|---:|---|' + '---:|' * len(peers) + '---:|---|']
  rmap = {r['name']: r for r in _compile_ratios(result)}
  simclr = _rows(result, 'simclr')
  notes = []
  for m in rows:
    if m['library'] != 'jaxaug':
      continue
    p = m['params']
    if 'eager_s' in p:
      split = f"eager {p['eager_s']:.1f} + jit {p['jit_s']:.1f}"
    else:
      split = ' / '.join(f"{p[k]:.2f}" for k in (
          'trace_s', 'lower_s', 'compile_s', 'run_s'))
    against = p.get('compared_with', m['name'])
    cells = []
    for lib in peers:
      v = next((x for x in rows if x['library'] == lib
                and x['name'] == against), None)
      cells.append(f"{v['value']:.2f}{_spread_s(v)}" if v else '—')
    if against != m['name'] and any(c != '—' for c in cells):
      notes.append(f"{m['name']}: no JAX peer has this pipeline; the peer "
                   f"columns are their {against} times.")
    r = rmap.get(m['name'])
    ratio = f"{r['ratio']:.2f}x vs {r['slowest_jax_peer']}" if r else '—'
    host = [x for x in simclr if x['name'] == _HOST_ROW.get(m['name'])
            and x['params'].get('host')]
    host_cell = ', '.join(f"{x['library']} {x['params']['first_call_s']:.2f}"
                          for x in host) or '—'
    lines.append(f"| {m['name']} | {p['batch']} | {m['value']:.2f}"
                 f"{_spread_s(m)} | "
                 f"{split} | {' | '.join(cells)} | {ratio} | {host_cell} |")
  lines.append('')
  if notes:
    lines += notes + ['']
  return lines


def markdown(result: dict[str, Any]) -> str:
  """All tables of one machine, headed by the machine's description."""
  meta = result['meta']
  lines = [f"### Benchmarks on `{result['machine']}`", '',
           f"{meta.get('cpu_model') or meta.get('processor')}, "
           f"{meta.get('cpu_count')} CPUs visible, JAX {meta['jax_version']} "
           f"({meta['jax_backend']}: {meta.get('device_kind')}), "
           f"{meta['timestamp']}. Load average at start/end: "
           f"{meta.get('loadavg_start')} / {meta.get('loadavg_end')}."
           + (' **Quick mode (tiny sizes): not meaningful numbers.**'
              if meta.get('quick') else ''), '']
  if meta.get('figure'):
    lines += [f"Figure of this run: `{meta['figure']}`.", '']
  merged = meta.get('merged_with')
  if merged:
    if isinstance(merged, dict):  # files written before the list form
      merged = [merged]
    # Each kept table comes from the newest run that measured it.
    done = set(meta.get('benchmarks_run', []))
    kept = []
    for run in merged:
      mine = [b for b in run.get('benchmarks') or [] if b not in done]
      done.update(mine)
      if mine:
        kept.append(f"{', '.join(mine)} from the run of "
                    f"{run.get('timestamp')} (load average "
                    f"{run.get('loadavg_start')} / {run.get('loadavg_end')})")
    lines[-1:-1] = [
        f"That run measured {', '.join(meta.get('benchmarks_run', []))}; "
        f"kept from earlier runs: {'; '.join(kept) or 'nothing'}.", '']

  simclr = _rows(result, 'simclr')
  if simclr:
    libs = sorted({m['library'] for m in simclr},
                  key=lambda l: (not l.startswith('jaxaug'), l))
    names = list(dict.fromkeys(m['name'] for m in simclr))
    warm = max(m['params'].get('warmup_rounds', 0) for m in simclr)
    lines += ['**SimCLR two-view pipeline** (views/s, higher is better; '
              'batch of images -> 2 views each'
              + (f'; medians of the timed rounds after {warm} untimed '
                 'warm-up rounds per library' if warm else '') + ')', '',
              '| pipeline | batch | ' + ' | '.join(libs)
              + ' | jaxaug / best peer |',
              '|---|---:|' + '---:|' * len(libs) + '---:|']
    rmap = {(r['benchmark'], r['name']): r for r in ratios(result)}
    for name in names:
      vals = {m['library']: m for m in simclr if m['name'] == name}
      any_m = next(iter(vals.values()))
      r = rmap.get(('simclr', name))
      blur = (f"blur {any_m['params']['blur_taps']} taps"
              if any_m['params']['blur'] else 'no blur')
      cells = ' | '.join(_fmt(vals[l]['value']) if l in vals else '—'
                         for l in libs)
      ratio = f"{r['ratio']:.2f}x vs {r['best_peer']}" if r else '—'
      if r and 'ratio_fixed_order' in r:
        ratio += f" (fixed order: {r['ratio_fixed_order']:.2f}x)"
      lines.append(f"| {name} ({blur}) | {any_m['params']['batch']} | "
                   f"{cells} | {ratio} |")
    lines.append('')
    lines += ['Spread of the timed calls (views/s at the slowest / median / '
              'fastest call):', '']
    for name in names:
      vals = {m['library']: m for m in simclr if m['name'] == name}
      cells = []
      for lib in libs:
        m = vals.get(lib)
        if m and m.get('params', {}).get('times_s'):
          slow, fast = spread(m)
          cells.append(f"{lib} {_fmt(slow)} / {_fmt(m['value'])} / "
                       f"{_fmt(fast)}")
      lines.append(f"- {name}: " + '; '.join(cells))
    lines.append('')
    lines += ['**Time to first output** (s: the first call of each '
              'pipeline, compilation or set-up included; host peers: '
              'building the pipeline and the first batch in a fresh '
              'process, imports excluded)', '',
              '| pipeline | ' + ' | '.join(libs) + ' |',
              '|---|' + '---:|' * len(libs)]
    for name in names:
      vals = {m['library']: m for m in simclr if m['name'] == name}
      cells = ' | '.join(
          f"{vals[l]['params'].get('first_call_s', float('nan')):.2f}"
          if l in vals else '—' for l in libs)
      lines.append(f'| {name} | {cells} |')
    lines.append('')

  from research.benchmarks import bandwidth  # pylint: disable=import-outside-toplevel
  lines += bandwidth.markdown_lines(result)
  lines += _compile_table(result)

  fields = _rows(result, 'fields')
  if fields:
    libs = list(dict.fromkeys(m['library'] for m in fields))
    names = list(dict.fromkeys(m['name'] for m in fields))
    lines += ['**Gaussian random field sampling** (fields/s; squared '
              'exponential, l = 16 px, non-periodic; gstools extrapolated '
              'from a few fields)', '',
              '| library | ' + ' | '.join(names) + ' |',
              '|---|' + '---:|' * len(names)]
    for lib in libs:
      cells = []
      for n in names:
        m = next((m for m in fields if m['library'] == lib and m['name'] == n),
                 None)
        cells.append(_fmt(m['value']) + ('*' if m and m['notes'] else '')
                     if m else '—')
      lines.append(f'| {lib} | ' + ' | '.join(cells) + ' |')
    rs = [r for r in ratios(result) if r['benchmark'] == 'fields']
    if rs:
      lines.append('')
      for r in rs:
        lines.append(
            f"{r['name']}: jaxaug / {r.get('best_jax_peer')} = "
            f"{r.get('ratio_vs_best_jax_peer', float('nan')):.2f}x, "
            f"jaxaug / best gstools = "
            f"{r.get('ratio_vs_best_gstools', float('nan')):.0f}x.")
    lines.append('')

  aug = _rows(result, 'field_augment')
  if aug:
    lines += ['**Random field augmentations** (jaxaug, images/s)', '',
              '| op | size | batch | images/s |', '|---|---:|---:|---:|']
    for m in aug:
      lines.append(f"| {m['name'].rsplit('_', 1)[0]} | {m['params']['size']} "
                   f"| {m['params']['batch']} | {_fmt(m['value'])} |")
    lines.append('')

  costs = _rows(result, 'field_costs')
  if costs:
    lines += ['**Random field costs** (jaxaug; temporaries from XLA\'s '
              'memory analysis as a multiple of the image batch\'s bytes, '
              'GRF time over one irfft2 of the output grid)', '',
              '| measure | size | value |', '|---|---:|---:|']
    for m in costs:
      lines.append(f"| {m['name']} | {m['params']['size']} | "
                   f"{m['value']:.2f} {m['unit']} |")
    lines.append('')

  train = _rows(result, 'training')
  if train:
    p = train[0]['params']
    lines += [f"**Training step** ({p['model']}, batch {p['batch']} -> "
              f"{p['views']} views of {p['size']}x{p['size']}, "
              'forward + backward + optax update, one jit)', '',
              '| variant | step (s, median [min-max]) | augmentation alone (s) | '
              'fraction of step augmenting |', '|---|---:|---:|---:|']
    by = {m['name']: m for m in train}
    for v in ('none', 'simclr', 'simclr+fields'):
      st = by.get(f'step_{v}')
      if not st:
        continue
      a = by.get(f'augment_only_{v}')
      f = by.get(f'augment_fraction_{v}')
      alone = _fmt(a['value']) if a else '—'
      frac = (f"{f['value']:.1%} (alone / step: "
              f"{f['params']['augment_only_fraction']:.1%})" if f else '—')
      step = _fmt(st['value']) + _seconds_range(st)
      none = by.get('step_none')
      if v != 'none' and none and st['value'] < none['value']:
        # A step cannot get faster by doing more work: say so.
        step += ' (faster than without augmentation: timing noise)'
      lines.append(f"| {v} | {step} | {alone} | {frac} |")
    lines.append('')

  scal = _rows(result, 'scaling')
  if scal:
    fig = result['meta'].get('figure')
    lines += ['**Scaling** (jaxaug SimCLR two views, views/s'
              + (f'; plot in `{fig}`)' if fig else ')'), '',
              '| sweep | batch | size | views/s (median) | slowest / fastest '
              'call | timed calls |', '|---|---:|---:|---:|---|---:|']
    for m in scal:
      slow, fast = spread(m)
      calls = len(m['params'].get('times_s') or [])
      lines.append(f"| {m['params']['sweep']} | {m['params']['batch']} | "
                   f"{m['params']['size']} | {_fmt(m['value'])} | "
                   f"{_fmt(slow)} / {_fmt(fast)} | {calls} |")
    lines.append('')

  errors = [m for m in result['measurements'] if 'error' in m]
  if errors:
    lines += ['Failed measurements:', '']
    lines += [f"- {m['benchmark']} {m['name']} {m['library']}: {m['error']}"
              for m in errors]
    lines.append('')
  skipped = [m for m in result['measurements'] if 'skipped' in m]
  if skipped:
    lines += ['Skipped measurements (with the reason):', '']
    lines += [f"- {m['benchmark']} {m['name']} {m['library']}: "
              f"{m['skipped']}" for m in skipped]
    lines.append('')
  return '\n'.join(lines)
