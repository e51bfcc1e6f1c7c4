"""`make objectives`: its records, report and schema (fake and real runs)."""

import json
import math
import os

import numpy as np
import pytest

from research.experiments import objectives_table as table

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NAMES = set(table.ORDER)


def _fake_records():
  rng = np.random.default_rng(0)
  records = []
  means = {"untrained": 0.80, "simclr": 0.87, "mochi": 0.86,
           "multihead": 0.85, "supcon": 0.95, "cross_entropy": 0.96,
           "cross_entropy+mixup": 0.96, "cross_entropy+cutmix": 0.95,
           "cross_entropy+resizemix": 0.95}
  for name, mean in means.items():
    for seed in range(3):
      acc = mean + 0.005 * rng.standard_normal()
      r = {"setting": name, "objective": name, "seed": seed,
           "few_label_probe_acc": {"1": acc - 0.2, "5": acc, "10": acc},
           "linear_probe_acc": 0.97, "knn_acc": 0.94}
      if name != "untrained":
        r.update(final_loss=3.0, chance_loss=math.log(255), train_s=20.0,
                 curves={"loss": [(1, 5.0), (300, 3.0)],
                         "few_label_5": [(100, acc - 0.02), (200, acc)]})
      if name.startswith("cross_entropy"):
        r["classifier_test_acc"] = 0.97
      if name == "multihead":
        r["tau_first"] = dict.fromkeys(table.TAU_STATS, 1.0)
        r["tau_last"] = dict.fromkeys(table.TAU_STATS, 0.1)
      if name == "mochi":
        r["mochi_first_mixing_step"] = 30
      records.append(r)
  records.append({"setting": "raw_pixels", "objective": "raw_pixels",
                  "seed": 0, "linear_probe_acc": 0.96, "knn_acc": 0.97,
                  "few_label_probe_acc": {"1": 0.6, "5": 0.82, "10": 0.9}})
  return records


def check_schema(records):
  assert isinstance(records, list) and records
  for r in records:
    assert r["objective"] in NAMES, r["objective"]
    assert isinstance(r["seed"], int)
    assert set(r["few_label_probe_acc"]) >= {"1", "5", "10"}
    for v in [*r["few_label_probe_acc"].values(), r["linear_probe_acc"],
              r["knn_acc"]]:
      assert 0.0 <= v <= 1.0
    assert "curves" not in r
    if r["objective"].startswith("cross_entropy"):
      assert 0.0 <= r["classifier_test_acc"] <= 1.0


def test_report_says_which_objectives_beat_the_untrained_encoder(tmp_path):
  text = table.write_report(str(tmp_path), _fake_records(), [0, 1, 2], 60.0,
                            "test machine")
  check_schema(json.loads((tmp_path / "results.json").read_text()))
  assert os.path.getsize(tmp_path / "curves.png") > 1000
  for name in table.PRETRAINING:
    assert f"- {table.label(name)} beats the untrained encoder's 5-label " \
           f"probe: **yes**" in text
  assert "| cross-entropy + cutmix | 3 | 97.0 ± 0.0 |" in text
  assert "first mixing step logged: 30" in text
  assert "| 0 | step 0 | 1 | 1 | 1 |" in text
  assert "test machine" in text


def test_committed_results_follow_the_schema():
  path = os.path.join(REPO, "results", "objectives", "results.json")
  if not os.path.exists(path):
    pytest.skip("results/objectives/results.json not written yet")
  with open(path, encoding="utf-8") as f:
    records = json.load(f)
  check_schema(records)
  assert {r["objective"] for r in records} == NAMES


@pytest.mark.slow
def test_short_real_run_of_two_objectives(tmp_path):
  records = table.run(["multihead", "cross_entropy+cutmix"], [0],
                      str(tmp_path / "runs"), steps=20, log=lambda _: None)
  assert {r["objective"] for r in records} == {
      "untrained", "raw_pixels", "multihead", "cross_entropy+cutmix"}
  mh = [r for r in records if r["objective"] == "multihead"][0]
  assert set(mh["tau_first"]) == set(table.TAU_STATS)
  table.write_report(str(tmp_path), records, [0], 1.0, "here", steps=20)
  check_schema(json.loads((tmp_path / "results.json").read_text()))
