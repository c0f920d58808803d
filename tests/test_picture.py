"""Graph pictures (symdiff.picture): DOT, SVG and PNG from Graphviz and from the matplotlib
fallback, which must work with `dot` hidden from the PATH."""

from __future__ import annotations

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from tools import require, run_symdiff

import symdiff as sd
from symdiff import picture

EXPR = "x1*x2 + sin(x1)"
AT = {"x1": 2, "x2": 3}
NAMES = ["w1", "w2", "w3", "w4", "w5", "z"]


def svg_text(svg: str) -> str:
    """All text an SVG shows or names (<text>, <title>, ids): it must parse as XML."""
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag.endswith("svg")
    parts = []
    for element in root.iter():
        parts += [element.text or "", element.get("id", "")]
    return "\n".join(parts)


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every pixel
    assert image.format == "PNG"
    return image.size


def test_dot_of_the_worked_example_at_a_point():
    dot = picture.to_dot(sd.derive(EXPR, at=AT))
    assert dot.startswith("digraph symdiff {") and dot.rstrip().endswith("}")
    for expected in [
        '"w1" [shape=ellipse, fillcolor="#dbeafe", label="w1 = x1\\nw1 = 2\\nw̄1 = 2.584"];',
        '"w3" [shape=box, style="rounded,filled", fillcolor="#f3f4f6", '
        'label="w3 = w1·w2\\nmul\\nw3 = 6\\nw̄3 = 1"];',
        '"z" [shape=box, peripheries=2, fillcolor="#dcfce7", '
        'label="z = w5\\nz = 6.909\\nz̄ = 1 (seed)"];',
        '"w1" -> "w3" [label="∂w3/∂w1 = w2 = 3"]',
        '"w2" -> "w3" [label="∂w3/∂w2 = w1 = 2"]',
        '"w1" -> "w4" [label="∂w4/∂w1 = cos(w1) = -0.4161"]',
        '"w4" -> "w5" [label="∂w5/∂w4 = 1"]',
        '"w5" -> "z"',
    ]:
        assert expected in dot, expected


def test_dot_of_a_graph_has_structure_only():
    dot = sd.trace(EXPR).to_dot()
    assert (
        '"w4" [shape=box, style="rounded,filled", fillcolor="#f3f4f6", label="w4 = sin(w1)\\nsin"];'
        in dot
    )
    assert "w̄" not in dot
    # x*x: one edge, labelled with the sum of both partials
    square = sd.trace("x*x").to_dot()
    assert square.count('"w1" -> "w2"') == 1 and "∂w2/∂w1 = 2·w1" in square


def test_dot_of_forward_mode_and_several_outputs():
    forward = picture.to_dot(sd.derive("x*y", at={"x": 2, "y": 3}, mode="forward"))
    assert "ẇ3 = 3" in forward and "ż = 3" in forward
    two = picture.to_dot(sd.derive(["x*y", "sin(x*y) + x"], at={"x": 2, "y": 3}, seed=[1, 2]))
    assert '"w3" -> "z1"' in two and '"w5" -> "z2"' in two and "z̄2 = 2 (seed)" in two


def test_graphviz_accepts_quotes_and_backslashes():
    dot_program = require("dot")
    tricky = picture.Picture(
        (
            picture.Box('a"b', ('say "hi" \\ there', "x"), "input"),
            picture.Box("z", ("z",), "output"),
        ),
        (picture.Arrow('a"b', "z", 'label "q" \\n'),),
        'title with "quotes" and \\',
    )
    done = subprocess.run(
        [dot_program, "-Tsvg"],
        input=picture.to_dot(tricky).encode(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert 'say "hi"' in svg_text(done.stdout.decode())


@pytest.mark.parametrize("engine", ["graphviz", "matplotlib"])
def test_svg_is_well_formed_and_names_every_node(engine):
    if engine == "graphviz":
        require("dot")
    text = svg_text(picture.to_svg(sd.derive(EXPR, at=AT), engine=engine))
    for name in NAMES:
        assert name in text
    assert "w̄1 = 2.584" in text and "∂w3/∂w1 = w2 = 3" in text


@pytest.mark.parametrize("engine", ["graphviz", "matplotlib"])
def test_png_decodes(engine):
    if engine == "graphviz":
        require("dot")
    width, height = png_size(picture.to_png(sd.derive(EXPR, at=AT), engine=engine))
    assert width > 300 and height > 100


def _fifty_nodes() -> sd.Derivation:
    expr = " + ".join(f"a{i}*tanh(W{i}1*x1 + W{i}2*x2 + b{i})" for i in range(1, 5))
    graph = sd.trace(expr + " + c1*x1 + c2*x2")
    point = {v: 0.1 * (i + 1) for i, v in enumerate(graph.variables)}
    return sd.derive(graph, at=point, simplify="none")


@pytest.mark.parametrize("engine", ["graphviz", "matplotlib"])
def test_fifty_node_graph_is_drawn_with_every_node(engine):
    if engine == "graphviz":
        require("dot")
    d = _fifty_nodes()
    assert len(d.graph) >= 50
    text = svg_text(picture.to_svg(d, engine=engine))
    for node in d.graph.nodes:
        assert f"{node.name} = " in text


def test_too_large_graph_is_refused_not_drawn():
    graph = sd.trace(" + ".join(f"x{i}*y{i}" for i in range(60)))
    assert len(graph) > picture.MAX_PICTURE_NODES
    with pytest.raises(sd.LimitError, match=r"nodes, more than the 100 a picture can show"):
        picture.to_svg(graph)
    with pytest.raises(sd.LimitError):
        graph.to_dot()
    assert graph._repr_svg_() is None  # Jupyter falls back to text
    assert picture.to_dot(graph, max_nodes=500).startswith("digraph")


def test_fallback_with_dot_hidden_from_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None
    d = sd.derive(EXPR, at=AT)
    svg = picture.to_svg(d)  # auto: matplotlib
    assert "Matplotlib" in svg or "matplotlib" in svg
    assert all(name in svg_text(svg) for name in NAMES)
    png_size(picture.to_png(d))
    with pytest.raises(sd.SymdiffError, match="Graphviz's dot program is not on the PATH"):
        picture.to_svg(d, engine="graphviz")
    assert ET.fromstring(d.graph._repr_svg_().encode()) is not None


def test_cli_graph_without_dot_on_the_path(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("graph.svg", "graph.png", "graph.dot"):
        result = run_symdiff(
            "graph", EXPR, "--at", "x1=2,x2=3", "-o", name, cwd=tmp_path, path=str(empty)
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"wrote {name}"
    assert all(n in svg_text((tmp_path / "graph.svg").read_text(encoding="utf-8")) for n in NAMES)
    png_size((tmp_path / "graph.png").read_bytes())
    dot = (tmp_path / "graph.dot").read_text(encoding="utf-8")
    assert dot == picture.to_dot(sd.derive(EXPR, at=AT))


def test_cli_graph_with_graphviz(tmp_path):
    require("dot")
    result = run_symdiff(
        "graph", EXPR, "--at", "x1=2,x2=3", "-o", "g.svg", "--engine", "graphviz", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "g.svg").read_text(encoding="utf-8")
    assert "Generated by graphviz" in svg
    assert all(f"<title>{name}</title>" in svg for name in NAMES)
    png = run_symdiff("graph", EXPR, "-o", "g.png", "--prefix", "v", cwd=tmp_path)
    assert png.returncode == 0, png.stderr
    png_size((tmp_path / "g.png").read_bytes())


def test_cli_graph_prints_dot_and_reports_bad_input_in_one_line(tmp_path):
    printed = run_symdiff("graph", "x*x", cwd=tmp_path)
    assert printed.returncode == 0 and printed.stdout == sd.trace("x*x").to_dot()
    for args in (["--format", "png"], ["-o", "g.jpg"], ["-o", str(tmp_path / "no" / "g.svg")]):
        bad = run_symdiff("graph", "x*x", *args, cwd=tmp_path)
        assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1, args
        assert "Traceback" not in bad.stderr
    big = run_symdiff(
        "graph", " + ".join(f"x{i}*y{i}" for i in range(60)), "-o", "big.svg", cwd=tmp_path
    )
    assert big.returncode == 2 and "a picture can show" in big.stderr
