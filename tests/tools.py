"""External programs the document and picture tests need: pdflatex and Graphviz's dot.

Locally a missing program skips its tests; in CI (the `CI` variable set) it is a failure, since
`.ci/run` installs both, so these tests can never be skipped silently there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def require(program: str) -> str:
    """The path of `program`; skip when it is missing, except in CI, where that fails."""
    found = shutil.which(program)
    if found:
        return found
    message = f"{program} is not installed (.ci/run installs texlive-latex-* and graphviz)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def compile_latex(tex: str, directory: Path, name: str = "doc") -> Path:
    """Compile a standalone document with `pdflatex -halt-on-error`; return the PDF's path."""
    pdflatex = require("pdflatex")
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{name}.tex"
    source.write_text(tex, encoding="utf-8")
    done = subprocess.run(
        [pdflatex, "-halt-on-error", "-interaction=nonstopmode", source.name],
        cwd=directory,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    pdf = directory / f"{name}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf


def run_symdiff(*args, cwd, path=None):
    """`python -m symdiff ARGS` in `cwd` (with `PATH` replaced when `path` is given)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "symdiff", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env=env,
    )
