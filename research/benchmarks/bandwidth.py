"""Memory-bandwidth floor of the SimCLR pipelines (issue 16, item 2).

The floor is the time a pipeline would take if it only moved the bytes it
must move, at the bandwidth this machine measures for a streaming copy:

* bytes per view: every input image is read once (float32, shared by its
  two views, so half an image per view) and every view is written once
  (float32, the output size): `(0.5 + 1) * size * size * 3 * 4` bytes;
* bandwidth: the faster of a jitted in-place `x * c` over a 256 MiB
  float32 array (XLA:CPU splits it over the cores; read + write counted)
  and a NumPy copy between two such arrays (one core), median of several
  calls.

`floor views/s = bandwidth / bytes per view`; the report gives the ratio of
that floor to jaxaug's measured views/s of the same run (how far above the
floor the pipeline runs; 1x would be a pipeline limited only by memory
traffic). Intermediates, the random draws and the arithmetic are not in the
floor: it is a lower bound on time, not an estimate.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from research.benchmarks import common

FLOAT_BYTES = 4


def bytes_per_view(size: int, channels: int = 3) -> float:
  """Bytes a two-view pipeline must move per view (see the module doc)."""
  image = size * size * channels * FLOAT_BYTES
  return 0.5 * image + image


def run(*, quick: bool = False, log: Callable[[str], None] = print
        ) -> list[common.Measurement]:
  """Streaming bandwidth (GB/s) of a jitted scale and a NumPy copy."""
  mib = 8 if quick else 256
  reps = 3 if quick else 9
  n = mib * 2**20 // FLOAT_BYTES
  moved = 2 * n * FLOAT_BYTES  # read + write
  # The jitted scale works in place (donated input): a fresh 256 MiB output
  # per call would time the kernel's page faults, not the memory.
  state = {'x': jnp.ones((n,), jnp.float32)}
  scale = jax.jit(lambda v: v * 1.0001, donate_argnums=0)

  def jit_scale():
    state['x'] = scale(state['x'])
    state['x'].block_until_ready()

  a = np.ones((n,), np.float32)
  b = np.ones_like(a)
  out = []
  for name, fn in (('jit_scale', jit_scale),
                   ('numpy_copy', lambda: np.copyto(b, a))):
    sec, times, _ = common.time_calls(lambda _: fn(), repetitions=reps)
    gbs = moved / sec / 1e9
    out.append(common.Measurement(
        benchmark='bandwidth', name=name, library=name, value=gbs,
        unit='GB/s', seconds=sec, repetitions=reps, items=moved,
        params={'bytes_moved': moved, 'times_s': times},
        notes='items: bytes read + written (float32 array)'))
    log(f'  {name}: {gbs:.1f} GB/s ({mib} MiB, median of {reps})')
  return out


def markdown_lines(result: dict[str, Any]) -> list[str]:
  """The floor table: jaxaug's SimCLR rows against the measured bandwidth."""
  bw = [m for m in result['measurements']
        if m.get('benchmark') == 'bandwidth' and 'value' in m]
  simclr = [m for m in result['measurements']
            if m.get('benchmark') == 'simclr' and m.get('library') == 'jaxaug'
            and 'value' in m]
  if not bw or not simclr:
    return []
  best = max(bw, key=lambda m: m['value'])
  lines = ['**Memory-bandwidth floor** (bytes per view: each input read once '
           'for its two views, each view written once, float32; bandwidth: '
           f"{best['library']} {best['value']:.1f} GB/s, the faster of a "
           'jitted scale and a NumPy copy; see `bandwidth.py`)', '',
           '| pipeline | bytes per view | floor (views/s) | jaxaug (views/s) '
           '| jaxaug time / floor time |', '|---|---:|---:|---:|---:|']
  for m in simclr:
    size = m['params']['size']
    per_view = bytes_per_view(size)
    floor = best['value'] * 1e9 / per_view
    lines.append(f"| {m['name']} | {per_view / 1e3:,.0f} kB | {floor:,.0f} | "
                 f"{m['value']:,.0f} | {floor / m['value']:.0f}x |")
  lines.append('')
  return lines
