"""The installed `symdiff` command, run as a user runs it."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import symdiff as sd


def symdiff_command() -> str:
    beside = Path(sys.executable).with_name("symdiff")  # the venv's own script first
    found = str(beside) if beside.exists() else shutil.which("symdiff")
    assert found, "the symdiff command is not installed: run pip install -e ."
    return found


def run(*args, cwd=None):
    return subprocess.run(
        [symdiff_command(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def test_grad_prints_the_partials():
    result = run("grad", "x1*x2 + sin(x1)", "--at", "x1=2,x2=3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "dz/dx1 = x2 + cos(x1) = 2.5838531634528574",
        "dz/dx2 = x1 = 2",
    ]


def test_grad_json():
    result = run("grad", "x1*x2 + sin(x1)", "--at", "x1=2,x2=3", "--json")
    data = json.loads(result.stdout)
    assert data == {
        "expression": "x1*x2 + sin(x1)",
        "variables": ["x1", "x2"],
        "gradient": {"x1": "x2 + cos(x1)", "x2": "x1"},
        "at": {"x1": 2.0, "x2": 3.0},
        "values": {"x1": 3 + math.cos(2), "x2": 2.0},
    }
    symbolic = json.loads(run("grad", "a*x^2", "--wrt", "x", "--json").stdout)
    assert symbolic["gradient"] == {"x": "2*a*x"} and symbolic["at"] is None
    assert symbolic["values"] is None


def test_explain_prints_the_tables():
    result = run("explain", "x1*x2 + sin(x1)", "--at", "x1=2,x2=3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in [
        "w1 = x1            2",
        "w3 = w1·w2         6",
        "w5 = w3 + w4       6.9093",
        "w̄2        w̄3·w1                x1             2         w3 = w1·w2",
        "w̄1        w̄3·w2 + w̄4·cos(w1)   x2 + cos(x1)   2.58385",
        "dz/dx1 = x2 + cos(x1) = 2.58385",
    ]:
        assert line in out, line
    assert str(sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})) + "\n" == out


def test_explain_with_wrt_seed_and_constant_point():
    out = run("explain", "sin(x)*y", "--at", "x=pi/2,y=3", "--wrt", "y,x", "--seed", "2").stdout
    assert "seed z̄ = 2" in out and "z̄·dz/dy = 2·sin(x) = 2" in out and "w1 = y" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["grad", "x.y"], "attribute access"),
        (["grad", "log(x)", "--at", "x=-1"], "log"),
        (["grad", "x*y", "--at", "x=1"], "no value for y"),
        (["grad", "x", "--at", "x"], "name=value"),
        (["explain", "(x"], "never closed"),
        (["grad"], "required"),
        (["frobnicate"], "invalid choice"),
        (["grad", "9**9**9**9"], "digits"),
        (["grad", "x", "--simplify", "maybe"], "invalid choice"),
        (["grad", "__import__('os').system('touch CANARY')"], "dunder"),
        (["check", "x*y"], "check needs a point"),
        (["check", "log(x)", "--at", "x=-1"], "log needs a positive argument"),
        (["check", "x*y; y", "--at", "x=1,y=2"], "not allowed"),
        (["check", "x.y", "--at", "x=1"], "attribute access"),
        (["check", "x", "--at", "x=1", "--plot", "no/such/dir/fd.png"], "cannot write the plot"),
        (["check", "x", "--at", "x=1", "--plot", ""], "the plot needs a file name"),
        (["check", "x", "--at", "x=1", "--plot", "fd.jpg"], "drawn as .png, .svg, .pdf or .eps"),
        # options that would be ignored, or are nonsense, are refused (a reviewer's reports)
        (["grad", "x1*x2", "--wrt", ""], "--wrt names no variable"),
        (["explain", "x*y", "--at", "x=2,y=3", "--max-nodes", "-3"], "at least 2"),
        (["explain", "x*y", "--at", "x=2,y=3", "--max-nodes", "5"], "for --format latex or"),
        (["explain", "x*y", "--at", "x=2,y=3", "--form", "local"], "for --format latex or"),
        (["explain", "x*y", "--at", "x=2,y=3", "--fragment"], "--fragment is for LaTeX"),
        (["explain", "x*y", "--at", "x=2,y=3", "--seed", "x=1"], "add --mode forward"),
        (["grad", "x*y", "--at", "x=1", "--at", "x=2,y=3"], "gives x twice"),
        (["grad", "x1*x2", "--at", "x1=2;x2=3,x2=1"], "the value of x1, '2;x2=3': statement"),
        # a mistyped option is one, not an expression (`dz/dversion = 1` for a while)
        (["grad", "--version"], "goes after '--'"),
        (["graph", "x", "--at", "x=1", "--seed", "x=1"], "which forward mode takes; in"),
    ],
)
def test_bad_input_is_one_line_with_status_2(tmp_path, args, words):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_error_about_many_variables_stays_a_short_line():
    expr = " + ".join(f"sin(x{i})*x{i + 1}" for i in range(1500))  # 1,501 variables
    result = run("grad", expr, "--at", "x0=1")
    assert result.returncode == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert line == (
        "symdiff: error: the point gives no value for x1, x2, x3, x4, x5, x6, x7, x8, … "
        "(1500 in all)"
    )


def test_version_and_help():
    assert run("--version").stdout.strip() == f"symdiff {sd.__version__}"
    help_text = run("--help").stdout
    assert "grad" in help_text and "explain" in help_text and "examples:" in help_text
    assert "--wrt" in run("grad", "--help").stdout


def test_python_dash_m_works_too():
    result = subprocess.run(
        [sys.executable, "-m", "symdiff", "grad", "x*x", "--at", "x=3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "dz/dx = 2·x = 6"


def test_jacobian_command():
    result = run("jacobian", "r*cos(t); r*sin(t)", "--wrt", "r,t", "--at", "r=2,t=0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "∂z1/∂r = cos(t) = 1",
        "∂z1/∂t = -r·sin(t) = 0",
        "∂z2/∂r = sin(t) = 0",
        "∂z2/∂t = r·cos(t) = 2",
    ]
    assert lines[4].startswith("mode: auto: 2 reverse sweeps")
    data = json.loads(run("jacobian", "x*y; x; y; x+y", "--json", "--at", "x=1,y=2").stdout)
    assert data["mode"] == "fwd" and data["values"] == [
        [2.0, 1.0],
        [1.0, 0.0],
        [0.0, 1.0],
        [1.0, 1.0],
    ]
    assert data["jacobian"][0] == ["y", "x"] and data["expressions"][3] == "x+y"


def test_hessian_command():
    result = run(
        "hessian", "100*(y - x^2)^2 + (1 - x)^2", "--wrt", "x,y", "--at", "x=1,y=1", "--json"
    )
    data = json.loads(result.stdout)
    assert data["values"] == [[802.0, -400.0], [-400.0, 200.0]]
    assert data["hessian"][1] == ["-400*x", "200"]
    hessian = run("hessian", "x^2*y").stdout
    assert "∂²z/∂x∂y = 2·x" in hessian and "(the other entry is 0)" in hessian


def test_explain_forward_mode_and_several_outputs():
    forward = run(
        "explain", "x1*x2 + sin(x1)", "--at", "x1=2,x2=3", "--mode", "forward", "--seed", "x1=1"
    ).stdout
    assert "ẇ5        1·ẇ3 + 1·ẇ4          x2 + cos(x1)   2.58385" in forward
    assert "ż = x2 + cos(x1) = 2.58385" in forward
    # the Jacobian's words for the modes serve here too, and the other way round
    args = ("explain", "x1*x2 + sin(x1)", "--at", "x1=2,x2=3", "--mode", "fwd", "--seed", "x1=1")
    assert run(*args).stdout == forward
    jacobian = run("jacobian", "x*y; x + y", "--mode", "reverse", "--at", "x=1,y=2").stdout
    assert "mode: rev as asked: 2 reverse sweeps (one per output)" in jacobian
    several = run("explain", "x*y; x + sin(y)", "--at", "x=1,y=2", "--seed", "0,1").stdout
    assert "seed z̄1 = 0, z̄2 = 1" in several and "Σ z̄i·dzi/dy = cos(y) = -0.416147" in several
    # the point is every output's, so it has a line of its own
    assert several.splitlines()[:3] == ["z1 = x*y", "z2 = x + sin(y)", "at x = 1, y = 2"]


# --- symdiff check: every method against the 50-digit closed form (symdiff.comparison) ---


def test_check_prints_the_comparison_table(tmp_path):
    result = run("check", "x1*x2 + sin(x1)", "--at", "x1=2,x2=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "z = x1*x2 + sin(x1)   at x1 = 2, x2 = 3"
    rows = {line.split("   ")[0]: line for line in lines[4:14]}
    assert rows["reverse sweep"].split()[2:5] == ["2.5838531634528574", "2", "1.9e-16"]
    assert rows["complex step"].split()[2:5] == ["2.5838531634528574", "2", "1.9e-16"]
    central = rows["central differences"].split()
    assert 1e-13 < float(central[4]) < 1e-9  # its abs error
    assert "dz/dx1 = 2.5838531634528576130024317704992378102339992289245" in lines
    assert list(tmp_path.iterdir()) == []  # nothing written without --plot


def test_check_json_and_plot(tmp_path):
    result = run("check", "sin(x)/x", "--at", "x=1e-3", "--json", "--plot", "fd.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["expression"] == "sin(x)/x" and data["at"] == {"x": 0.001}
    rows = {r["key"]: r for r in data["rows"]}
    assert rows["reverse"]["values"]["x"] == pytest.approx(-1e-3 / 3, rel=1e-6)
    assert rows["reverse"]["rel_error"] < 1e-9 and rows["central"]["rel_error"] < 1e-6
    assert data["reference"]["x"].startswith("-0.000333333300000001197415060252574528637")
    png = (tmp_path / "fd.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"Matplotlib" in png


def test_expressions_may_start_with_a_minus_and_constants_say_so():
    assert run("grad", "-x^2", "--at", "x=3").stdout.strip() == "dz/dx = -2·x = -6"
    assert run("grad", "--x^2", "--at", "x=3").stdout.strip() == "dz/dx = 2·x = 6"
    # -h is the help; after `--` it is an expression
    assert run("grad", "--at", "h=3", "--", "-h").stdout.strip() == "dz/dh = -1"
    assert run("grad", "--wr", "x", "x*y", "--at", "x=3,y=4").stdout.strip() == "dz/dx = y = 4"
    assert "is a constant" in run("grad", "2+3").stdout
    assert "--seed expects" in run("explain", "x*y", "--mode", "forward", "--seed", "2").stderr


def test_repeated_at_options_merge_and_o_picks_the_format_from_its_suffix(tmp_path):
    result = run("grad", "x1*x2", "--at", "x1=2", "--at", "x2=3")
    assert result.stdout.splitlines() == ["dz/dx1 = x2 = 3", "dz/dx2 = x1 = 2"]
    assert run("explain", "x*y", "--at", "x=2,y=3", "-o", "d.tex", cwd=tmp_path).returncode == 0
    assert (tmp_path / "d.tex").read_text().startswith("\\documentclass")
    run("explain", "x*y", "--at", "x=2,y=3", "-o", "d.md", cwd=tmp_path)
    assert "$$" in (tmp_path / "d.md").read_text()
    run("explain", "x*y", "--at", "x=2,y=3", "-o", "d.txt", cwd=tmp_path)
    assert (tmp_path / "d.txt").read_text().startswith("z = x*y")
    assert run("hessian", "abs(x) + y", "--at", "x=0,y=1").stdout.strip() == "(all 4 entries are 0)"


def test_an_overflow_names_a_long_constant_shortly():
    result = run("grad", "x*" + "9" * 4000, "--at", "x=1")
    assert result.returncode == 2 and "overflows at w1 = 1" in result.stderr
    assert len(result.stderr) < 200 and "needs" not in result.stderr


def test_a_variable_called_z_renames_the_output():
    out = run("explain", "z*x", "--at", "z=2,x=3").stdout
    assert "df/dz = x = 3" in out and "f = w3" in out
