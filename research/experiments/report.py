"""Tables, statistics sentences, figures and files of an experiment's records."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Sequence

import numpy as np

from research.utils import stats

Record = dict[str, Any]

LABELS = {
    "untrained": "untrained encoder (baseline)",
    "raw_pixels": "raw pixels (baseline)",
    "supervised": "supervised, all labels (upper bound)",
    "simclr": "SimCLR",
    "simclr+mild": "SimCLR + mild random fields",
    "simclr+medium": "SimCLR + medium random fields",
    "simclr+strong": "SimCLR + strong random fields",
}


def few(record: Record, shots: str = "5") -> float:
  return float(record["few_label_probe_acc"].get(shots, float("nan")))


def by_setting(records: Sequence[Record], key: str = "setting"
               ) -> dict[str, list[Record]]:
  out: dict[str, list[Record]] = {}
  for r in records:
    out.setdefault(r[key], []).append(r)
  for rs in out.values():
    rs.sort(key=lambda r: r["seed"])
  return out


def _cell(values: Sequence[float], scale: float = 100.0, digits: int = 1
          ) -> str:
  if not len(values) or np.all(np.isnan(values)):
    return "n/a"
  mean, std = stats.mean_std(values)
  if len(values) == 1:
    return f"{scale * mean:.{digits}f}"
  return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


def metrics_table(records: Sequence[Record], order: Sequence[str], *,
                  key: str = "setting", shots: Sequence[str] = ("1", "5", "10"),
                  label: Callable[[str], str] = lambda s: LABELS.get(s, s)
                  ) -> str:
  """Markdown: one row per setting, mean ± std over seeds, in percent."""
  groups = by_setting(records, key)
  head = ("| setting | seeds | " +
          " | ".join(f"{k}-label probe" for k in shots) +
          " | linear probe | kNN | final loss / chance |")
  lines = [head, "|" + "---|" * (head.count("|") - 1)]
  for name in order:
    if name not in groups:
      continue
    rs = groups[name]
    cells = [_cell([few(r, k) for r in rs]) for k in shots]
    cells.append(_cell([r["linear_probe_acc"] for r in rs]))
    cells.append(_cell([r["knn_acc"] for r in rs]))
    if "final_loss" in rs[0]:
      ratio = np.mean([r["final_loss"] / r["chance_loss"] for r in rs])
      loss = (f"{np.mean([r['final_loss'] for r in rs]):.2f} / "
              f"{rs[0]['chance_loss']:.2f} ({ratio:.2f}x)")
    else:
      loss = "-"
    lines.append(f"| {label(name)} | {len(rs)} | " + " | ".join(cells) +
                 f" | {loss} |")
  return "\n".join(lines)


def difference_rows(records: Sequence[Record], pairs: Sequence[tuple[str, str]],
                    *, key: str = "setting", shots: str = "5",
                    label: Callable[[str], str] = lambda s: LABELS.get(s, s)
                    ) -> tuple[str, list[str], list[dict[str, Any]]]:
  """Paired differences of the `shots`-label probe (same seeds).

  Returns:
    A markdown table, one sentence per pair saying whether the difference is
    distinguishable from zero, and the numbers as dicts.
  """
  groups = by_setting(records, key)
  lines = [f"| comparison ({shots}-label probe, points) | mean difference | "
           f"95% CI | p (paired t) | seeds |", "|---|---|---|---|---|"]
  sentences, numbers = [], []
  for name, ref in pairs:
    if name not in groups or ref not in groups:
      continue
    a = {r["seed"]: few(r, shots) for r in groups[name]}
    b = {r["seed"]: few(r, shots) for r in groups[ref]}
    seeds = sorted(set(a) & set(b))
    if not seeds:
      continue
    d = stats.paired_difference([a[s] for s in seeds], [b[s] for s in seeds])
    numbers.append({"setting": name, "baseline": ref, "shots": shots, **d})
    lines.append(f"| {label(name)} - {label(ref)} | {100 * d['mean']:+.1f} | "
                 f"[{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}] | "
                 f"{d['p_value']:.3f} | {d['n']} |")
    if stats.excludes_zero(d):
      verdict = (f"distinguishable from zero: {label(name)} is "
                 f"{'better' if d['mean'] > 0 else 'worse'}")
    else:
      verdict = "not distinguishable from zero at this number of seeds"
    sentences.append(f"{label(name)} vs {label(ref)}: "
                     f"{100 * d['mean']:+.1f} points, 95% CI "
                     f"[{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}], "
                     f"{verdict}.")
  return "\n".join(lines), sentences, numbers


def write_json(path: str, records: Sequence[Record]) -> None:
  """Writes the records without their curves (one JSON list)."""
  clean = [{k: v for k, v in r.items() if k != "curves"} for r in records]
  with open(path, "w", encoding="utf-8") as f:
    json.dump(clean, f, indent=2)
    f.write("\n")


def _band(ax, runs: list[list[tuple[int, float]]], color, label):
  steps = sorted(set.intersection(*(set(s for s, _ in run) for run in runs)))
  if not steps:
    return
  values = np.array([[dict(run)[s] for s in steps] for run in runs])
  mean = values.mean(0)
  ax.plot(steps, mean, color=color, label=label)
  if len(runs) > 1:
    ax.fill_between(steps, values.min(0), values.max(0), color=color,
                    alpha=0.2, linewidth=0)


def curves_figure(path: str, records: Sequence[Record], order: Sequence[str],
                  *, title: str = "") -> None:
  """Loss (with chance) and 5-label probe over training, mean and min-max band.

  The baselines (untrained, raw pixels, and the supervised run's final value)
  are drawn as horizontal lines in the probe panel.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  groups = by_setting(records)
  fig, (ax_loss, ax_probe) = plt.subplots(1, 2, figsize=(11, 4))
  colors = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
  chance = None
  for name in order:
    rs = groups.get(name, [])
    if not rs or "curves" not in rs[0] or name == "supervised":
      continue
    color = next(colors)
    label = LABELS.get(name, name)
    _band(ax_loss, [r["curves"]["loss"] for r in rs], color, label)
    chance = rs[0]["chance_loss"]
    _band(ax_probe, [r["curves"]["few_label_5"] for r in rs], color, label)
  if chance is not None:
    ax_loss.axhline(chance, color="k", linestyle="--", linewidth=1,
                    label=f"chance ln(2B-1) = {chance:.2f}")
  for name, style in (("untrained", ":"), ("raw_pixels", "-."),
                      ("supervised", "--")):
    rs = groups.get(name, [])
    if rs:  # Final values (the supervised run's at its last step).
      ax_probe.axhline(np.mean([few(r) for r in rs]), color="gray",
                       linestyle=style, label=LABELS[name])
  ax_loss.set(xlabel="step", ylabel="NT-Xent loss",
              title="Pre-training loss (mean, min-max over seeds)")
  ax_probe.set(xlabel="step", ylabel="test accuracy",
               title="5-label-per-class linear probe")
  ax_loss.legend(fontsize=8)
  ax_probe.legend(fontsize=8)
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def ensure_dir(path: str) -> str:
  os.makedirs(path, exist_ok=True)
  return path
