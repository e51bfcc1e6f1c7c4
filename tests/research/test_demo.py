"""The demo's protocol: SimCLR learns on the digits; records, tables, schema."""

import json
import math
import os

import numpy as np
import pytest

from research import demo
from research import evaluation
from research.experiments import protocol
from research.experiments import report

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SETTINGS = {"untrained", "raw_pixels", "supervised", "simclr", "simclr+mild",
            "simclr+medium", "simclr+strong"}


def test_short_simclr_learns_and_beats_its_untrained_encoder(tmp_path):
  # The demo recipe (SimCLR preset, AdamW, t = 0.1) at half the steps, seed 0.
  config = protocol.demo_config(150)
  config.eval.every = 0
  config.eval.few_label_shots = (5,)
  eval_data = evaluation.load_eval_data(config)
  (before,) = protocol.untrained(config, [0], eval_data, log=lambda _: None)
  (after,) = protocol.run_setting("simclr", config, [0], str(tmp_path),
                                  log=lambda _: None)
  assert after["chance_loss"] == pytest.approx(math.log(2 * 128 - 1))
  assert after["final_loss"] < 0.9 * after["chance_loss"], after
  assert report.few(after) > report.few(before) + 0.02, (before, after)
  losses = [loss for _, loss in after["curves"]["loss"]]
  assert losses[-1] < losses[0]


def _fake_records():
  rng = np.random.default_rng(0)
  records = []
  for name, base in (("untrained", 0.78), ("simclr", 0.86),
                     ("simclr+mild", 0.87), ("supervised", 0.95)):
    for seed in range(3):
      acc = base + 0.01 * rng.standard_normal()
      r = {"setting": name, "seed": seed,
           "few_label_probe_acc": {"1": acc - 0.2, "5": acc,
                                   "10": min(acc + 0.03, 1.0)},
           "linear_probe_acc": 0.97, "knn_acc": 0.93}
      if name != "untrained":
        r.update(final_loss=3.5, chance_loss=math.log(255), train_s=10.0,
                 curves={"loss": [(10, 5.0), (20, 4.0)],
                         "few_label_5": [(10, acc - 0.03), (20, acc)]})
      records.append(r)
  records.append({"setting": "raw_pixels", "seed": 0,
                  "few_label_probe_acc": {"1": 0.6, "5": 0.82, "10": 0.9},
                  "linear_probe_acc": 0.96, "knn_acc": 0.97})
  return records


def test_report_files_follow_the_schema(tmp_path):
  records = _fake_records()
  config = protocol.demo_config()
  text = demo.write_report(str(tmp_path), records, config, [0, 1, 2], 1.0)
  assert os.path.getsize(tmp_path / "curves.png") > 1000
  saved = json.loads((tmp_path / "results.json").read_text())
  check_schema(saved)
  assert "untrained encoder (baseline)" in text and "95% CI" in text
  assert "SimCLR + mild random fields vs SimCLR" in text
  # The simclr - untrained gap of about 8 points is resolved by 3 seeds.
  assert "SimCLR vs untrained encoder (baseline): +7.8 points" in text
  assert "distinguishable from zero: SimCLR is better" in text


def check_schema(records):
  assert isinstance(records, list) and records
  for r in records:
    assert r["setting"] in SETTINGS, r["setting"]
    assert isinstance(r["seed"], int)
    few = r["few_label_probe_acc"]
    assert set(few) >= {"1", "5", "10"}
    for value in [*few.values(), r["linear_probe_acc"], r["knn_acc"]]:
      assert 0.0 <= value <= 1.0
    if r["setting"].startswith("simclr"):
      assert r["final_loss"] > 0 and r["chance_loss"] > 0
    assert "curves" not in r


def test_reference_results_follow_the_schema():
  path = os.path.join(REPO, "results", "demo", "results.json")
  with open(path) as f:
    records = json.load(f)
  check_schema(records)
  settings = {r["setting"] for r in records}
  assert {"untrained", "raw_pixels", "supervised", "simclr"} <= settings
  for name in settings - {"raw_pixels"}:
    assert len([r for r in records if r["setting"] == name]) >= 3, name
