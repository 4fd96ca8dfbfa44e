"""hf_motion.recipe_args: the one parser of every recipe (``--config FILE.yaml``, flags win)."""

from dataclasses import dataclass, field

import pytest

from hf_motion.recipe_args import MotionArgumentParser


@dataclass
class _Args:
    steps: int = 10
    name: str = field(default="a", metadata={"help": "a name"})


def parse_recipe_args(dataclass_types, argv):
    return MotionArgumentParser(dataclass_types).parse(argv)


def recipe_parser(dataclass_types, argv, default_config=None, extract=()):
    """``(parser, argv without --config, extracted, config_path)``, as the scripts' parser leaves them."""
    parser = MotionArgumentParser(dataclass_types, default_config=default_config, extract=extract)
    argv = parser.take_config(argv)
    return parser, argv, parser.extracted, parser.config_path


def test_config_is_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        parse_recipe_args(_Args, ["--help"])
    assert "--config FILE.yaml" in capsys.readouterr().out


@pytest.mark.parametrize("form", ["split", "equals"])
def test_yaml_gives_defaults_and_flags_win(tmp_path, form):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("steps: 3\nname: yaml\n")
    flag = ["--config", str(cfg)] if form == "split" else [f"--config={cfg}"]
    (args,) = parse_recipe_args(_Args, [*flag, "--name", "flag"])
    assert (args.steps, args.name) == (3, "flag")


def test_default_config_is_read_unless_another_is_given(tmp_path):
    default, other = tmp_path / "d.yaml", tmp_path / "o.yaml"
    default.write_text("steps: 5\ntasks: [1, 2]\n")
    other.write_text("steps: 7\n")
    parser, argv, extracted, path = recipe_parser(_Args, [], default_config=default, extract=("tasks",))
    assert path == default and extracted == {"tasks": [1, 2]} and argv == []
    assert parser.parse_args_into_dataclasses(args=argv)[0].steps == 5
    parser, argv, extracted, path = recipe_parser(_Args, ["--config", str(other)], default_config=default)
    assert path == other and parser.parse_args_into_dataclasses(args=argv)[0].steps == 7
    _, _, _, path = recipe_parser(_Args, [], default_config=tmp_path / "missing.yaml")
    assert path is None


def test_config_errors_name_the_file_and_keys(tmp_path):
    with pytest.raises(SystemExit, match="--config needs a YAML file"):
        parse_recipe_args(_Args, ["--config"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("stepz: 3\n")
    with pytest.raises(SystemExit, match=r"bad\.yaml: unknown option\(s\) \['stepz'\]"):
        parse_recipe_args(_Args, ["--config", str(bad)])


def test_inline_tasks_list_or_tasks_file(tmp_path):
    @dataclass
    class _Cv:
        tasks: str | None = None

    cfg = tmp_path / "c.yaml"
    cfg.write_text("steps: 2\ntasks:\n  - {name: style, kind: multiclass}\n")
    (args, cv), inline = MotionArgumentParser((_Args, _Cv), extract=("tasks",)).parse_with_tasks(["--config", str(cfg)])
    assert args.steps == 2 and cv.tasks is None and inline == ([{"name": "style", "kind": "multiclass"}], cfg)
    # --tasks on the command line wins over the inline list
    (_, cv), inline = MotionArgumentParser((_Args, _Cv), extract=("tasks",)).parse_with_tasks(["--config", str(cfg), "--tasks", "t.yaml"])
    assert cv.tasks == "t.yaml" and inline is None
    # a tasks: string in the config is the default of --tasks
    cfg.write_text("tasks: other.yaml\n")
    (_, cv), inline = MotionArgumentParser((_Args, _Cv), extract=("tasks",)).parse_with_tasks(["--config", str(cfg)])
    assert cv.tasks == "other.yaml" and inline is None


def _recipe_yamls_of_defaults():
    """The recipe YAML files whose first line says they spell out a script's defaults."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "recipes"
    out = []
    for path in sorted(root.glob("*.yaml")):
        match = re.match(r"# Defaults of recipes/(\w+)\.py", path.read_text().splitlines()[0])
        if match:
            out.append(pytest.param(path, match.group(1), id=path.name))
    return out


@pytest.mark.parametrize(("path", "script"), _recipe_yamls_of_defaults())
def test_a_yaml_of_defaults_says_what_the_script_does_without_it(path, script):
    # A YAML that claims to spell out the defaults must not drift from them: running the script
    # with --config FILE and without it must train the same thing.
    import dataclasses
    import importlib

    import yaml

    parser = importlib.import_module(f"hf_motion.scripts.{script}").make_parser()
    defaults = {}
    for args in parser.parse([]):
        defaults.update({f.name: getattr(args, f.name) for f in dataclasses.fields(args)})
    stated = yaml.safe_load(path.read_text())
    assert stated, f"{path} states no defaults"
    drift = {}
    for key, value in stated.items():
        assert key in defaults, f"{path}: {key!r} is not an option of recipes/{script}.py"
        default = getattr(defaults[key], "value", defaults[key])  # enums as their strings
        if default != value and not (isinstance(default, float) and isinstance(value, (int, float)) and float(value) == default):
            drift[key] = (value, default)
    assert not drift, f"{path} states other values than the defaults (yaml, default): {drift}"
