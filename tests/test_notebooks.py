"""The tutorial notebooks: committed with their outputs, and each runs top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = [
    "01_reverse_mode_step_by_step.ipynb",
    "02_closed_form_gradients.ipynb",
    "03_latex_export.ipynb",
]


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_executed(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    assert not [out for out in outputs(nb) if out.output_type == "error"]


def test_step_by_step_notebook_answers_the_three_questions_with_pictures():
    nb = nbformat.read(NOTEBOOKS / NAMES[0], as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    for question in ("Why seeds?", "How do we go backward?", "Symbols or values?"):
        assert question in text
    kinds = [key for out in outputs(nb) for key in out.get("data", {})]
    assert kinds.count("image/svg+xml") == 2  # the graph, and the derivation at the point
    assert "text/markdown" in kinds  # the derivation as a document


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, tmp_path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    assert not [out for out in outputs(nb) if out.output_type == "error"]
