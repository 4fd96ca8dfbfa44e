"""The data flow that hf_motion/__init__.py describes, enforced: no module imports from a higher
layer, function-local imports included; scripts import no other script; the library never loads a
recipe. A new module must be given a layer here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "hf_motion"

# Lowest first. A module may import from its own layer and the layers below it.
LAYERS: list[tuple[str, list[str]]] = [
    ("base", ["errors", "fileio", "resources", "rotations", "remote_code"]),
    ("motion", ["kinematics", "motion", "skeletons", "resample", "metrics", "evaluation.metrics", "features", "pose_features"]),
    ("readers", ["io", "bvh", "amass", "keypoints", "readers"]),
    (
        "tokenization",
        ["tokenization", "quantizer", "predictive_coding", "tokenizer", "processing", "text_motion", "instructions", "rate_distortion"],
    ),  # fmt: skip
    ("datasets", ["datasets"]),
    ("models", ["modeling", "multitask", "task_loss", "code_gpt", "generation", "models"]),
    (
        "training and evaluation",
        [
            "training",
            "cv",
            "model_card",
            "generation_metrics",
            "text_motion_metrics",
            "text_motion_training",
            "models.motion_t5.training_motion_t5",
            "code_prediction",
            "continuous_baselines",
            "baselines",
            "probing",
            "finetuning",
            "evaluation",
            "prediction_benchmark",
            "scaling",
            "reporting",
            "pipelines",
            "demo",
            "render",
            "recipe_args",
        ],
    ),  # fmt: skip
    ("scripts", ["scripts", "cli"]),
]
LAYER_OF = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}
ROOT_ATTRIBUTES_ALLOWED = {"__version__"}  # read from the package root by modules of any layer


def _module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _module_names()


def _layer(module: str) -> int | None:
    """The layer of ``hf_motion.a.b`` (by ``a.b``, then ``a``); None for the package root."""
    parts = module.split(".")[1:]
    for k in range(len(parts), 0, -1):
        key = ".".join(parts[:k])
        if key in LAYER_OF:
            return LAYER_OF[key]
    return None


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    """``(line, hf_motion module)`` for every import in the file, at any depth."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "hf_motion"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "hf_motion":
                continue
            submodules = [f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in MODULES]
            if submodules:
                found += [(node.lineno, s) for s in submodules]
            elif name == "hf_motion" and {a.name for a in node.names} <= ROOT_ATTRIBUTES_ALLOWED:
                continue
            else:
                found.append((node.lineno, name))
    return found


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if m != "hf_motion" and _layer(m) is None]
    assert not missing, f"give these modules a layer in tests/test_layering.py: {missing}"


def test_the_import_walker_sees_function_local_and_relative_imports(tmp_path):
    # The walker itself on a hand-written file (not on the package): what it must report.
    src = tmp_path / "probe.py"
    src.write_text("from .motion import Motion\n\ndef f():\n    from ..training import pretrain\n    import hf_motion.cv\n")
    got = imports_of("hf_motion.datasets.probe", src)
    assert got == [(1, "hf_motion.datasets.motion"), (4, "hf_motion.training"), (5, "hf_motion.cv")]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "hf_motion"))
def test_no_import_from_a_higher_layer(module):
    own = _layer(module)
    bad = []
    for line, target in imports_of(module, MODULES[module]):
        while target not in MODULES and "." in target:
            target = target.rsplit(".", 1)[0]
        if target == module:
            continue
        theirs = _layer(target)
        if theirs is None:
            bad.append(f"line {line}: the package root hf_motion (import the module that defines the name)")
        elif theirs > own:
            bad.append(f"line {line}: {target} ({LAYERS[theirs][0]}) from {LAYERS[own][0]}")
        elif module.startswith("hf_motion.scripts.") and target.startswith("hf_motion.scripts."):
            bad.append(f"line {line}: a script imports another script ({target})")
    assert not bad, f"{MODULES[module].relative_to(REPO)} imports upward:\n" + "\n".join(bad)


def test_nothing_loads_a_recipe_as_a_module():
    """Recipes are entry points: the library and the tests import hf_motion.scripts, never a recipe file."""
    loaders = ("import_recipe", "spec_from_file_location(")
    files = [*MODULES.values(), *(REPO / "tests").glob("*.py"), *(REPO / "recipes").glob("*.py"), *(REPO / "bench").glob("*.py")]
    offenders = [
        str(path.relative_to(REPO)) for path in files if path != Path(__file__).resolve() and any(x in path.read_text() for x in loaders)
    ]
    assert not offenders, f"library modules load recipes: {offenders}"


def _aliases() -> dict[str, str]:
    """``old module -> new module`` for every old home kept as a ``sys.modules`` alias."""
    out = {}
    for module, path in MODULES.items():
        text = path.read_text()
        if "sys.modules[__name__] = " in text:
            node = next(n for n in ast.parse(text).body if isinstance(n, ast.ImportFrom) and n.level)
            out[module] = ".".join(module.split(".")[:-1] + [node.module, node.names[0].name])
    return out


@pytest.mark.parametrize(("old", "new"), sorted(_aliases().items()))
def test_an_old_module_path_is_the_moved_module(old, new):
    # User code importing the old path gets the very module object: patches and isinstance checks agree.
    import importlib

    assert new in MODULES and MODULES[new].read_text().count("sys.modules[__name__]") == 0
    assert importlib.import_module(old) is importlib.import_module(new)


def test_the_library_imports_moved_modules_from_their_new_home():
    # Old homes are for user code; the library's own imports name the module that defines things.
    aliases = _aliases()
    offenders = [
        f"{MODULES[module].relative_to(REPO)}:{line} imports {target} (now {aliases[target]})"
        for module in MODULES
        if module not in aliases
        for line, target in imports_of(module, MODULES[module])
        if target in aliases
    ]
    assert not offenders, "\n".join(offenders)
