"""The wheel of jaxaug installs only `jaxaug` (research/ runs from a checkout)."""

import glob
import os
import shutil
import subprocess
import sys
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_wheel_contains_only_jaxaug(tmp_path):
  # Build from a copy so the checkout gets no build/ or egg-info folders.
  src = tmp_path / "src"
  src.mkdir()
  for name in ("pyproject.toml", "README.md", "LICENSE"):
    if os.path.exists(os.path.join(REPO, name)):
      shutil.copy(os.path.join(REPO, name), src / name)
  for name in ("jaxaug", "research"):
    shutil.copytree(os.path.join(REPO, name), src / name,
                    ignore=shutil.ignore_patterns("__pycache__"))
  subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                  "-w", str(tmp_path / "dist"), str(src)], check=True,
                 capture_output=True, timeout=300)
  (wheel,) = glob.glob(str(tmp_path / "dist" / "*.whl"))
  names = zipfile.ZipFile(wheel).namelist()
  tops = {n.split("/")[0] for n in names}
  assert tops == {"jaxaug", os.path.basename(wheel).split("-")[0] + "-" +
                  os.path.basename(wheel).split("-")[1] + ".dist-info"}, tops
  assert "jaxaug/_src/fields.py" in names
  assert not any(n.startswith("research") for n in names)
