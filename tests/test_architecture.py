"""The import graph: dependencies point one way, as the README's map draws them.

Each module sits in one layer and imports only from its own layer or the ones below; no
module reaches into another's private names; the engine and the layers need neither
graphviz nor NumPy.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "micrograd_bn"

# From the bottom up: the README's map ("Layers"), one entry per module of the package.
LAYERS = [
    {"engine", "reference", "text", "numeric"},  # the core: Value and its operations; the closed form; how numbers read
    {"nn", "batchnorm", "rules"},  # the layers; each operation's formulas as text
    {
        "grading",
        "diagnosis",
        "learner",
        "norms",
        "compare",
        "gradcheck",
        "check",
        "exercise",
    },  # what verifies a gradient
    {"drawing", "trace", "paper", "page"},  # what shows a graph
    {"budget", "cli", "__init__"},  # the surfaces a person runs
]
IMPORTS_NOTHING_OF_THE_PACKAGE = {"engine", "reference", "text", "numeric"}


def layer_of(module: str) -> int:
    for k, layer in enumerate(LAYERS):
        if module in layer:
            return k
    raise AssertionError(f"micrograd_bn/{module}.py is in no layer: add it to LAYERS here and to the README's map")


def package_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for each `from .module import names` and `from . import module` in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.append((node.module.split(".")[0], [a.name for a in node.names]))
            else:
                found += [(a.name, []) for a in node.names if (PACKAGE / f"{a.name}.py").exists()]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("micrograd_bn"):
            raise AssertionError(f"{path.name}: import the package's modules relatively (from .x import y)")
    return found


def violations(module: str, path: Path) -> list[str]:
    """What in `path` (the module `module`) breaks the map: an import from above, or of a private name."""
    found, mine = [], layer_of(module)
    for imported, names in package_imports(path):
        if imported.startswith("_engine_compiled"):
            continue  # __init__ chooses the compiled engine
        if module in IMPORTS_NOTHING_OF_THE_PACKAGE:
            found.append(f"{module}.py imports .{imported}: it must stand alone")
        elif layer_of(imported) > mine:
            found.append(f"{module}.py imports .{imported}, a layer above it")
        found += [f"{module}.py imports {n} from .{imported}: a private name" for n in names if n.startswith("_")]
    tree = ast.parse(path.read_text())
    modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level for a in n.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"{module}.py reads {node.value.id}.{node.attr}, a private name of another module")
    return found


MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_only_its_layer_and_below_and_no_private_name(module):
    assert violations(module, PACKAGE / f"{module}.py") == []


def test_the_map_check_can_fail(tmp_path):
    """The negative test: an upward import, a core module importing the package, a private name."""
    fake = tmp_path / "fake.py"
    fake.write_text(
        "from .drawing import draw\nfrom .engine import _number\nfrom . import compare\ncompare._autodiff\n"
    )
    assert violations("nn", fake) == [
        "nn.py imports .drawing, a layer above it",
        "nn.py imports _number from .engine: a private name",
        "nn.py imports .compare, a layer above it",
        "nn.py reads compare._autodiff, a private name of another module",
    ]
    assert violations("engine", fake)[0] == "engine.py imports .drawing: it must stand alone"


BLOCK = "import sys; sys.modules['graphviz'] = None; sys.modules['numpy'] = None\n"


def test_the_engine_and_the_layers_need_neither_graphviz_nor_numpy():
    code = BLOCK + (
        "from micrograd_bn import Value, BatchNorm1d, LayerNorm, MLP\n"
        "bn = BatchNorm1d(1); y = bn([[Value(1.0)], [Value(3.0)]]); y[0][0].backward()\n"
        "print(round(y[0][0].data, 3))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "-1.0", run.stderr


def test_a_missing_graphviz_is_one_clear_line_when_drawing_is_used():
    code = BLOCK + "import micrograd_bn\nmicrograd_bn.draw\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "ModuleNotFoundError: micrograd_bn.draw needs the graphviz package: pip install graphviz"
    )
