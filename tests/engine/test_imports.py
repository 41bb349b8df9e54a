"""Import hygiene: the engine is NumPy only. Checked in fresh interpreters, where nothing
else has been imported yet."""

import ast
import json
import pathlib
import subprocess
import sys

import engine

UI_PACKAGES = ("textual", "plotext", "rich", "asyncssh", "textual_plotext", "tui")
ENGINE_DIR = pathlib.Path(engine.__file__).parent


def modules_after(code):
    """Top-level package names in sys.modules after running `code` in a fresh interpreter."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_checker_sees_what_is_imported():
    # The check can fail: importing a UI package does show up.
    assert "json" in modules_after("import json")
    assert "tui" in modules_after("import tui.cli")


def test_import_engine_loads_no_ui_package():
    loaded = modules_after("import engine")
    assert "engine" in loaded and "numpy" in loaded
    assert not loaded & set(UI_PACKAGES), loaded & set(UI_PACKAGES)
    # Nor the heavy optional ones: torch only in tests, scikit-learn only for digits.
    assert not loaded & {"torch", "sklearn", "hypothesis", "scipy"}


def test_using_the_engine_loads_no_ui_package():
    # Not just the import: building, training, checking, saving and diagnostics too.
    code = """
import tempfile, os
import engine, engine.diagnostics
t = engine.build(engine.presets["seed"])
t.fit(3)
list(t.phases())
engine.gradcheck(t.net, t.X, t.Y, t.loss)
engine.diagnostics.compute(t)
with tempfile.TemporaryDirectory() as d:
    engine.io.load(engine.io.save(t, os.path.join(d, "r.npz")))
"""
    loaded = modules_after(code)
    assert not loaded & set(UI_PACKAGES), loaded & set(UI_PACKAGES)


def test_engine_sources_never_import_tui_or_ui_packages():
    offenders = []
    for path in sorted(ENGINE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                if name.split(".")[0] in UI_PACKAGES:
                    offenders.append(f"{path.name}:{node.lineno} imports {name}")
    assert not offenders, offenders
    assert len(list(ENGINE_DIR.glob("*.py"))) >= 10  # the scan really looked at the engine


def test_headless_cli_commands_do_not_load_textual():
    # `netstep train` / `gradcheck` import Textual only for commands that open the app.
    code = "import tui.cli\ntui.cli.main(['gradcheck', '--json'])"
    loaded = modules_after(code)
    assert "textual" not in loaded and "plotext" not in loaded

