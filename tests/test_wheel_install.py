"""A plain (non-editable) install works: the package ships its card templates, saved tokenizers and
accelerate configs (copies of the repo's, kept byte-identical), :mod:`hf_motion.resources` finds
them from any folder, and a wheel installed into a bare folder tokenizes a real clip, builds a
card and saves and reloads a tiny model, with the repository nowhere on ``sys.path``."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from hf_motion import MotionTokenizer, resources

from conftest import BANDAI1, REPO

PACKAGE = REPO / "hf_motion"
ASSETS = PACKAGE / "assets"
TOKENIZERS = ["m5-delta-motion", "m5-fine-motion", "m5-motion"]
ACCELERATE = ["cpu", "ddp", "fsdp", "multinode"]
SMALL_CLIP = BANDAI1 / "dataset-1_dash_normal_001.bvh"  # the smallest dataset-1 clip (~29 kB)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --------------------------------------------------------------- the packaged copies
@pytest.mark.parametrize("name", TOKENIZERS)
def test_packaged_tokenizers_equal_the_repo_copies_byte_for_byte(name):
    repo, packaged = _files(REPO / "tokenizer_configs" / name), _files(resources.tokenizer_config_path(name))
    assert sorted(repo) == ["README.md", "tokenizer.json", "tokenizer_config.json"]
    assert sorted(packaged) == sorted(repo), "run python tokenizer_configs/build.py"
    for f in repo:
        assert packaged[f] == repo[f], f"hf_motion/assets/tokenizers/{name}/{f} drifted: run python tokenizer_configs/build.py"


@pytest.mark.parametrize("name", ACCELERATE)
def test_packaged_accelerate_configs_equal_the_repo_copies(name):
    packaged = resources.accelerate_config_path(name)
    assert packaged.read_bytes() == (REPO / "recipes" / "accelerate" / f"{name}.yaml").read_bytes(), (
        f"cp recipes/accelerate/{name}.yaml hf_motion/assets/accelerate/"
    )


def test_every_repo_accelerate_config_is_packaged():
    assert sorted(p.stem for p in (REPO / "recipes" / "accelerate").glob("*.yaml")) == resources.accelerate_config_names() == ACCELERATE


@pytest.mark.slow  # two builds: about 10 s
def test_build_script_writes_and_checks_the_packaged_copies(tmp_path):
    """``build.py`` writes the repo and packaged folders identically, and ``--check`` finds drift."""
    out, pkg = tmp_path / "configs", tmp_path / "packaged"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    script = str(REPO / "tokenizer_configs" / "build.py")
    subprocess.run([sys.executable, script, "--out", str(out), "--package-out", str(pkg)], check=True, capture_output=True, env=env)
    for name in TOKENIZERS:
        assert _files(pkg / name) == _files(out / name) == _files(REPO / "tokenizer_configs" / name)
    (pkg / "m5-motion" / "tokenizer.json").write_bytes(b"{}")
    check = subprocess.run([sys.executable, script, "--check", "--out", str(out), "--package-out", str(pkg)],
                           capture_output=True, text=True, env=env)  # fmt: skip
    assert check.returncode == 1
    assert f"{pkg / 'm5-motion' / 'tokenizer.json'}: differs from a fresh build" in check.stderr
    assert str(out) not in check.stderr  # the untouched folders pass


# --------------------------------------------------------------- hf_motion.resources
def test_resources_find_shipped_files_by_name():
    assert resources.tokenizer_names() == TOKENIZERS
    assert resources.tokenizer_config_path("m5-delta-motion") == ASSETS / "tokenizers" / "m5-delta-motion"
    assert resources.accelerate_config_path("ddp") == resources.accelerate_config_path("ddp.yaml") == ASSETS / "accelerate" / "ddp.yaml"
    assert resources.card_template_path("motion_finetuned") == ASSETS / "model_cards" / "motion_finetuned.md"
    tok = MotionTokenizer.from_pretrained(resources.tokenizer_config_path("m5-fine-motion"))
    assert tok.digits == 2 and len(tok) == 264
    from hf_motion.cv import load_task_specs

    assert resources.task_list_names() == ["bandai-namco"]
    bandai = {s.name: s for s in load_task_specs(resources.task_list_path("bandai-namco"))}
    assert list(bandai) == ["style", "content", "tired_vs_normal"]
    assert set(bandai["tired_vs_normal"].positive) == {"old", "tired", "elderly", "exhausted"}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: resources.tokenizer_config_path("m5-motoin"),
         r"no tokenizer 'm5-motoin' shipped with hf_motion .*available: \['m5-delta-motion', 'm5-fine-motion', 'm5-motion'\]"),
        (lambda: resources.accelerate_config_path("dpp"), r"no accelerate config 'dpp' .*available: \['cpu', 'ddp', 'fsdp', 'multinode'\]"),
        (lambda: resources.card_template_path("card"), r"no model card template 'card' .*available: \['motion_finetuned', 'motion_pretrained'\]"),
        (lambda: resources.tokenizer_config_path("../tokenizers/m5-motion"), r"must be a plain name such as 'm5-delta-motion'"),
    ],
)  # fmt: skip
def test_resources_errors_list_what_is_shipped(call, message):
    with pytest.raises((FileNotFoundError, ValueError), match=message):
        call()


def test_resolve_tokenizer_falls_back_only_for_shipped_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no tokenizer_configs/ here
    packaged = str(resources.tokenizer_config_path("m5-delta-motion"))
    assert resources.resolve_tokenizer("tokenizer_configs/m5-delta-motion") == packaged
    assert resources.resolve_tokenizer("./tokenizer_configs/m5-delta-motion") == packaged
    assert resources.resolve_tokenizer(Path("m5-delta-motion")) == packaged
    # Explicit paths and Hub ids come back unchanged, so the loader's error names them.
    for spec in ("tokenizer_configs/m5-motoin", str(tmp_path / "tokenizer_configs" / "m5-delta-motion"),
                 "runs/pretrain/m5-delta-motion", "someone/motion-tokenizer", "other/m5-motion", ""):  # fmt: skip
        assert resources.resolve_tokenizer(spec) == spec
    with pytest.raises(OSError, match="Can't load a MotionTokenizer from 'tokenizer_configs/m5-motoin'"):
        MotionTokenizer.from_pretrained(resources.resolve_tokenizer("tokenizer_configs/m5-motoin"))
    missing = str(tmp_path / "gone")
    with pytest.raises(OSError, match=f"Can't load a MotionTokenizer from '{missing}': no such file or folder"):
        MotionTokenizer.from_pretrained(resources.resolve_tokenizer(missing))
    # A folder that exists wins over the packaged copy, even when it differs from it.
    local = tmp_path / "tokenizer_configs" / "m5-delta-motion"
    MotionTokenizer.m5(64).save_pretrained(str(local))
    assert resources.resolve_tokenizer("tokenizer_configs/m5-delta-motion") == "tokenizer_configs/m5-delta-motion"
    assert MotionTokenizer.from_pretrained(resources.resolve_tokenizer("tokenizer_configs/m5-delta-motion")).angle_quantizer.n_bins == 64


def test_recipe_tokenizer_defaults_load_from_any_folder(tmp_path, monkeypatch):
    from hf_motion.prediction_benchmark import load_tokenizer
    from hf_motion.training import PretrainDataArguments

    assert PretrainDataArguments().tokenizer == "tokenizer_configs/m5-delta-motion"  # as recipes/pretrain.yaml says
    monkeypatch.chdir(tmp_path)
    tok = load_tokenizer(tmp_path)  # a model folder without a tokenizer: pretrain.py's default
    reference = MotionTokenizer.from_pretrained(REPO / "tokenizer_configs" / "m5-delta-motion")
    assert tok.quantization == reference.quantization and tok.get_vocab() == reference.get_vocab()


def test_resources_command_prints_paths(capsys):
    assert resources.main(["accelerate", "ddp"]) == 0
    assert capsys.readouterr().out.strip() == str(ASSETS / "accelerate" / "ddp.yaml")
    assert resources.main(["tokenizer"]) == 0
    assert capsys.readouterr().out.split() == TOKENIZERS
    assert resources.main(["accelerate", "dpp"]) == 1
    assert "available: ['cpu', 'ddp', 'fsdp', 'multinode']" in capsys.readouterr().err
    assert resources.main(["nope"]) == 2


# --------------------------------------------------------------- a real wheel
JOINTS = ["Hips", "Spine", "Chest", "Neck", "Head"]
PROBE = f"JOINTS = {JOINTS!r}\n" + textwrap.dedent(
    """
    import json, sys
    site, clip, out = sys.argv[1:4]
    assert not any("editable" in repr(f).lower() for f in sys.meta_path), sys.meta_path
    import numpy as np
    import hf_motion
    from hf_motion import resources
    from hf_motion.model_card import build_model_card, save_for_hub, validate_model_card
    from hf_motion.modeling import MotionGPT2ForCausalLM, motion_gpt2_config
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import torch

    joints = JOINTS
    path = resources.resolve_tokenizer("tokenizer_configs/m5-delta-motion")  # the recipes' default, no repo here
    tok = AutoTokenizer.from_pretrained(path, joint_names=joints)
    motion = hf_motion.resample_motion(hf_motion.load_bvh(clip), 10).select_joints(joints).slice(0, 8)
    ids = tok.encode_motion(angles=motion.rotations, task=">")
    back = tok.decode_motion(ids).angles
    torch.manual_seed(0)
    model = MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tok)).eval()
    card = build_model_card("someone/tiny", model=model, tokenizer=tok, template="motion_pretrained",
                            data_sources=["bandai-namco:dataset-1"], fps=10, window=8)
    validate_model_card(card, require_results=False)
    save_for_hub(model, tok, card, out)
    model2 = AutoModelForCausalLM.from_pretrained(out).eval()
    tok2 = AutoTokenizer.from_pretrained(out)
    x = torch.as_tensor(ids)[None]
    with torch.no_grad():
        same = bool(torch.equal(model(x).logits, model2(x).logits))
    print(json.dumps({
        "hf_motion": hf_motion.__file__,
        "resources": [str(p) for p in (path, resources.accelerate_config_path("ddp"), resources.card_template_path("motion_finetuned"))],
        "sys_path": sys.path,
        "tokenizer": type(tok).__name__, "vocab": len(tok), "ids": ids.tolist(),
        "max_error": float(np.max(np.abs(back - motion.rotations))), "half_bin": float(np.max(tok.angle_quantizer.delta) / 2),
        "library_name": card.data.library_name, "license": card.data.license,
        "reloaded": [type(model2).__name__, type(tok2).__name__], "same_logits": same,
        "ids_again": tok2.encode_motion(angles=motion.rotations, task=">").tolist() == ids.tolist(),
    }))
    """
)


def _venv_site_packages() -> list[str]:
    """The environment's site-packages, to put on PYTHONPATH of a ``python -S`` process (which reads
    no ``.pth`` files, so the editable install's finder is never installed)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def test_wheel_installs_and_builds_a_card_outside_the_repo(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed in this environment: cannot build a wheel offline (--no-build-isolation)")
    if not SMALL_CLIP.is_file():
        pytest.skip(f"real motion data not found: {SMALL_CLIP} (set HF_MOTION_DATA)")
    # Build from a copy of what the wheel needs, so the build leaves no build/ or egg-info in the repo.
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "hf_motion", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", HF_HUB_OFFLINE="1")
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
                   check=True, capture_output=True, env=env, cwd=tmp_path)  # fmt: skip
    (wheel,) = wheels.glob("hf_motion-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        *(f"hf_motion/assets/tokenizers/{t}/{f}" for t in TOKENIZERS for f in ("README.md", "tokenizer.json", "tokenizer_config.json")),
        *(f"hf_motion/assets/accelerate/{a}.yaml" for a in ACCELERATE),
        "hf_motion/assets/model_cards/motion_finetuned.md", "hf_motion/assets/model_cards/motion_pretrained.md",
        "hf_motion/assets/caption_templates.json", "hf_motion/assets/text_motion_tasks.json", "hf_motion/resources.py",
        "hf_motion/assets/tasks/bandai-namco.yaml",
    ):  # fmt: skip
        assert shipped in names, f"{wheel.name} lacks {shipped}"
    assert not any(n.endswith(".bvh") or n.startswith(("tests/", "recipes/", "tokenizer_configs/")) for n in names)

    site = tmp_path / "site"
    subprocess.run(pip + ["install", "--no-deps", "-q", "--target", str(site), str(wheel)], check=True, capture_output=True, env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # -S: no site module, so no .pth file runs and the editable install's finder (which maps
    # hf_motion to the repo) is never installed, whatever its order on sys.meta_path; the
    # dependencies come from the environment's site-packages, after the wheel's folder. The cwd is
    # outside the repo, so sys.path[0] cannot find the repo's hf_motion either.
    env["PYTHONPATH"] = os.pathsep.join([str(site), *_venv_site_packages()])
    run = subprocess.run([sys.executable, "-S", "-c", PROBE, str(site), str(SMALL_CLIP), str(tmp_path / "saved")],
                         capture_output=True, text=True, env=env, cwd=elsewhere, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(got["hf_motion"]).is_relative_to(site)
    assert all(Path(p).is_relative_to(site) for p in got["resources"]), got["resources"]
    assert not any(Path(p).resolve() == REPO for p in got["sys_path"] if p)
    assert got["tokenizer"] == "MotionTokenizer" and got["vocab"] == 1542
    # The installed copy encodes the real clip exactly as the repo's tokenizer_configs/ folder does,
    # and the ids decode back within half a bin.
    import hf_motion

    repo_tok = MotionTokenizer.from_pretrained(REPO / "tokenizer_configs" / "m5-delta-motion", joint_names=JOINTS)
    motion = hf_motion.resample_motion(hf_motion.load_bvh(SMALL_CLIP), 10).select_joints(JOINTS).slice(0, 8)
    assert got["ids"] == repo_tok.encode_motion(angles=motion.rotations, task=">").tolist() and len(got["ids"]) > 8
    assert got["max_error"] <= got["half_bin"] + 1e-9
    assert got["library_name"] == "hf_motion" and got["license"] == "cc-by-nc-4.0"
    assert got["reloaded"] == ["MotionGPT2ForCausalLM", "MotionTokenizer"] and got["same_logits"] and got["ids_again"]
    assert (tmp_path / "saved" / "README.md").read_text(encoding="utf-8").count("import hf_motion") >= 2
