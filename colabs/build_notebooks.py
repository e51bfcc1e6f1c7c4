"""Writes the colab notebooks from the Python sources in `colabs/src/`.

The notebooks are kept as plain Python files in the "percent" format (cells
separated by `# %%` lines, markdown cells by `# %% [markdown]` with every line
commented), so that they review and diff like code. This script turns each
`colabs/src/NN_name.py` into `colabs/NN_name.ipynb` with no outputs.

Usage:
  python colabs/build_notebooks.py           # rewrite the notebooks
  python colabs/build_notebooks.py --check   # exit 1 if any is out of date
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat

HERE = pathlib.Path(__file__).resolve().parent
SOURCES = HERE / "src"

# Where Colab installs jaxaug from: the install cell of every notebook.
# In Colab the notebooks install jaxaug from a copy of this repository at
# /content/jaxaug (upload it or `git clone` your copy there first).
PIP_SPEC = "jaxaug[research] @ file:///content/jaxaug"

_MARKDOWN = "# %% [markdown]"
_CODE = "# %%"


def _markdown_text(lines: list[str]) -> str:
  """Strips the leading '# ' (or '#') that keeps markdown valid Python."""
  out = []
  for line in lines:
    if line.startswith("# "):
      out.append(line[2:])
    elif line.startswith("#"):
      out.append(line[1:])
    else:
      out.append(line)
  return "\n".join(out).strip("\n")


def parse(text: str) -> list[tuple[str, str]]:
  """Splits percent-format text into `[(kind, source), ...]` cells.

  Args:
    text: the file's text; `kind` is "markdown" or "code".

  Returns:
    The cells in order, each with trailing blank lines removed.
  """
  cells: list[tuple[str, list[str]]] = []
  for line in text.splitlines():
    stripped = line.rstrip()
    if stripped == _MARKDOWN:
      cells.append(("markdown", []))
    elif stripped == _CODE:
      cells.append(("code", []))
    elif cells:
      cells[-1][1].append(line.rstrip())
    # Lines before the first marker (the module docstring) are not a cell.
  result = []
  for kind, lines in cells:
    if kind == "markdown":
      source = _markdown_text(lines)
    else:
      source = "\n".join(lines).strip("\n")
    source = source.replace("{PIP_SPEC}", PIP_SPEC)
    if source:
      result.append((kind, source))
  return result


def build(path: pathlib.Path) -> nbformat.NotebookNode:
  """Returns the notebook (no outputs) for one percent-format source file."""
  nb = nbformat.v4.new_notebook()
  for kind, source in parse(path.read_text()):
    if kind == "markdown":
      nb.cells.append(nbformat.v4.new_markdown_cell(source))
    else:
      nb.cells.append(nbformat.v4.new_code_cell(source))
  nb.metadata["kernelspec"] = {
      "name": "python3", "display_name": "Python 3", "language": "python"}
  nb.metadata["language_info"] = {"name": "python"}
  nb.metadata["colab"] = {"provenance": []}
  nb.metadata["accelerator"] = "GPU"
  # Stable cell ids keep rebuilt notebooks byte-identical.
  for i, cell in enumerate(nb.cells):
    cell["id"] = f"cell-{i:02d}"
  return nb


def render(nb: nbformat.NotebookNode) -> str:
  return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true",
                      help="only check that the notebooks are up to date")
  args = parser.parse_args(argv)
  stale = []
  for src in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
    target = HERE / (src.stem + ".ipynb")
    text = render(build(src))
    if args.check:
      if not target.exists() or target.read_text() != text:
        stale.append(target.name)
    else:
      target.write_text(text)
      print(f"wrote {target.relative_to(HERE.parent)}")
  if stale:
    print("out of date (run python colabs/build_notebooks.py):",
          ", ".join(stale))
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
