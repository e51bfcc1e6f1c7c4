"""Executes every colab notebook top to bottom (small settings) on CPU.

Each notebook in `colabs/` runs in a fresh "python3" kernel of this Python
(working directory `colabs/`) with nbclient; any cell error fails the test.
The notebooks in the repository must also be exactly what
`colabs/build_notebooks.py` builds from `colabs/src/` (no stale copies, no
stored outputs).
"""

import os
import pathlib
import sys

import pytest

import nbformat  # noqa: E402
import nbclient  # noqa: E402

COLABS = pathlib.Path(__file__).resolve().parent.parent / "colabs"
NOTEBOOKS = sorted(COLABS.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01_augmentation_gallery.ipynb", "02_random_fields.ipynb",
            "03_simclr_with_random_fields.ipynb",
            "04_in_your_training_loop.ipynb"]
CELL_TIMEOUT_S = 300


def test_all_notebooks_present_and_linked():
  assert [p.name for p in NOTEBOOKS] == EXPECTED
  readme = (COLABS / "README.md").read_text()
  for name in EXPECTED:
    assert name in readme, f"colabs/README.md does not link {name}"


def test_notebooks_match_sources_and_have_no_outputs():
  sys.path.insert(0, str(COLABS))
  try:
    import build_notebooks  # pylint: disable=g-import-not-at-top
  finally:
    sys.path.remove(str(COLABS))
  for path in NOTEBOOKS:
    source = COLABS / "src" / (path.stem + ".py")
    assert path.read_text() == build_notebooks.render(
        build_notebooks.build(source)), (
            f"{path.name} is stale: run python colabs/build_notebooks.py")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
      if cell.cell_type == "code":
        assert not cell.outputs and cell.execution_count is None, path.name
    # The first code cell is the Colab-only install cell.
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert 'if "google.colab" in sys.modules:' in first.source
    assert any("FULL = False" in c.source for c in nb.cells), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
  nb = nbformat.read(path, as_version=4)
  env_backup = os.environ.get("MPLBACKEND")
  # Figures render (to PNG outputs) without a display.
  os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
  try:
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
        resources={"metadata": {"path": str(COLABS)}})
    client.execute()
  finally:
    if env_backup is None:
      os.environ.pop("MPLBACKEND", None)
    else:
      os.environ["MPLBACKEND"] = env_backup
  figures = sum(1 for c in nb.cells if c.cell_type == "code"
                for o in c.get("outputs", [])
                if "image/png" in o.get("data", {}))
  assert figures >= 2, f"{path.name} rendered only {figures} figures"
