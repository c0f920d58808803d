"""Project hygiene a new user and CI rely on."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_ci_runs_exactly_the_readme_test_command():
    commands = [c for c in readme_commands() if "pytest" in c]
    assert len(commands) == 1
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[0] in ci


def test_readme_worked_example_output_is_current():
    import symdiff as sd

    readme = (ROOT / "README.md").read_text()
    shown = str(sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3}))
    body = shown.split("\n\nnote:")[0]  # the closing note is not repeated in the README
    assert body in readme


def test_no_eval_of_user_text_in_the_package():
    for path in (ROOT / "symdiff").glob("*.py"):
        source = path.read_text()
        for banned in ("eval(", "parse_expr", "sympify(text", "sympify(value", "sympify(expr"):
            assert banned not in source, (path.name, banned)
        # the one exec compiles code that numeric.to_source generated, never user text
        allowed = 1 if path.name == "numeric.py" else 0
        assert source.count("exec(") == allowed, path.name
    assert "exec(compile(source, " in (ROOT / "symdiff" / "numeric.py").read_text()
