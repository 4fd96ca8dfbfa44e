"""Saved folders say what they need (hf_motion.remote_code): ``auto_map`` + ``hf_motion_loader.py``.

Loading in a fresh interpreter that has not imported hf_motion must not send the user to
"upgrade transformers", nor hand back a plain tokenizer for the processor; with
``trust_remote_code=True`` it must give the same model as ``import hf_motion`` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import transformers

import hf_motion
from hf_motion import MotionProcessor, MotionTokenizer
from hf_motion.model_card import ModelCardError, check_hub_folder
from hf_motion.models.motion_vq.configuration_motion_vq import MotionVQConfig
from hf_motion.models.motion_vq.modeling_motion_vq import MotionVQVAE
from hf_motion.models.motion_vq.processing_motion_vq import MotionVQProcessor
from hf_motion.remote_code import LOADER_CLASSES, LOADER_FILE, MODEL_AUTO_CLASSES, config_auto_map, loader_source
from hf_motion.resources import tokenizer_config_path
from hf_motion.skeletons import resolve_joint_subset

from conftest import REPO, tiny_lm


@pytest.fixture(scope="module")
def lm_dir(walk_motion, tmp_path_factory):
    core = resolve_joint_subset("bandai-core", walk_motion.skeleton)
    tok = MotionTokenizer.from_pretrained(tokenizer_config_path("m5-motion"), joint_names=core)
    folder = tmp_path_factory.mktemp("lm")
    tiny_lm(tok).save_pretrained(folder)
    MotionProcessor(tok, fps=10, window=8, stride=8).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def vq_dir(walk_motion, tmp_path_factory):
    clip = hf_motion.resample_motion(walk_motion, 20.0)
    processor = MotionVQProcessor.from_motion(clip, fps=20.0)
    torch.manual_seed(0)
    cfg = MotionVQConfig(input_dim=processor.layout.dim, hidden_size=16, depth=1, downsample=4, codebook_size=8, codebook_dim=16,
                         quantizer="vq", num_quantizers=1, kmeans_init=False)  # fmt: skip
    folder = tmp_path_factory.mktemp("vq")
    MotionVQVAE(cfg).eval().save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _fresh_python(code: str, tmp_path) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter that has not imported hf_motion (offline, own module cache)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_without_hf_motion_the_error_asks_for_its_code_not_a_transformers_upgrade(lm_dir, tmp_path):
    probe = (
        "import sys, transformers\n"
        "for auto in ('AutoConfig', 'AutoModelForCausalLM', 'AutoProcessor'):\n"
        "    try:\n"
        f"        x = getattr(transformers, auto).from_pretrained({str(lm_dir)!r})\n"
        "        print('\\nRESULT', auto, 'LOADED', type(x).__name__)\n"
        "    except ValueError as e:\n"
        "        print('\\nRESULT', auto, 'REFUSED', ' '.join(str(e).split()))\n"
        "print('\\nRESULT hf_motion imported:', 'hf_motion' in sys.modules)\n"
    )
    run = _fresh_python(probe, tmp_path)
    assert run.returncode == 0, run.stderr
    lines = [line[len("RESULT ") :] for line in run.stdout.splitlines() if line.startswith("RESULT ")]  # not transformers' prompt
    assert lines[-1] == "hf_motion imported: False"  # nothing ran the folder's code
    for auto, line in zip(("AutoConfig", "AutoModelForCausalLM", "AutoProcessor"), lines[:3]):
        assert line.startswith(f"{auto} REFUSED"), line  # the processor no longer falls back to a plain tokenizer
        assert "trust_remote_code=True" in line and "upgrade" not in line.lower()
    loader = (lm_dir / LOADER_FILE).read_text()
    assert "import hf_motion" in loader.split('"""')[1]  # what the folder's code says to do, in its first lines


def test_trust_remote_code_loads_the_same_model_and_processor_as_import(lm_dir, walk_motion, bandai_paths, tmp_path):
    path = str(bandai_paths[0])
    probe = (
        "import json, sys, torch, transformers\n"
        f"folder = {str(lm_dir)!r}\n"
        "model = transformers.AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()\n"
        "processor = transformers.AutoProcessor.from_pretrained(folder, trust_remote_code=True)\n"
        f"batch = processor({path!r}, return_tensors='pt')\n"
        "with torch.no_grad():\n"
        "    logits = model(input_ids=batch['input_ids'][:1]).logits[0, -1]\n"
        "print(json.dumps([type(model).__name__, type(processor).__name__, batch['input_ids'][:1].tolist(), logits.tolist()]))\n"
    )
    run = _fresh_python(probe, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    model_name, processor_name, ids, logits = json.loads(run.stdout.strip().splitlines()[-1])
    assert (model_name, processor_name) == ("MotionGPT2ForCausalLM", "MotionProcessor")
    # here, with hf_motion imported and no trust_remote_code: the registered classes, the same numbers
    model = transformers.AutoModelForCausalLM.from_pretrained(lm_dir).eval()
    processor = transformers.AutoProcessor.from_pretrained(lm_dir)
    assert type(model) is hf_motion.MotionGPT2ForCausalLM and type(processor) is MotionProcessor
    batch = processor(path, return_tensors="pt")
    assert batch["input_ids"][:1].tolist() == ids
    with torch.no_grad():
        expected = model(input_ids=batch["input_ids"][:1]).logits[0, -1]
    np.testing.assert_allclose(np.asarray(logits), expected.numpy(), rtol=1e-5, atol=1e-5)
    assert not [m for m in sys.modules if m.endswith(LOADER_FILE[:-3])]  # imported hf_motion: the loader never ran here


def test_vq_folder_loads_through_its_loader_too(vq_dir, tmp_path):
    probe = (
        "import json, transformers\n"
        f"folder = {str(vq_dir)!r}\n"
        "model = transformers.AutoModel.from_pretrained(folder, trust_remote_code=True)\n"
        "fx = transformers.AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=True)\n"
        "print(json.dumps([type(model).__name__, type(fx).__name__, fx.layout.dim == model.config.input_dim]))\n"
    )
    run = _fresh_python(probe, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == ["MotionVQVAE", "MotionVQProcessor", True]
    config = json.loads((vq_dir / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "hf_motion_loader.MotionVQConfig", "AutoModel": "hf_motion_loader.MotionVQVAE"}


def _registered_hf_motion_classes() -> dict[str, set[str]]:
    """``config class name -> Auto model classes it is registered with``, read from transformers."""
    out: dict[str, set[str]] = {}
    for config_class in transformers.models.auto.configuration_auto.CONFIG_MAPPING._extra_content.values():
        if config_class.__module__.startswith("hf_motion."):
            out[config_class.__name__] = set()
    for name in dir(transformers):
        if name.startswith("AutoModel"):
            mapping = getattr(getattr(transformers, name), "_model_mapping", None)
            for config_class, model_class in getattr(mapping, "_extra_content", {}).items():
                if config_class.__module__.startswith("hf_motion."):
                    out[config_class.__name__].add(name)
                    assert model_class.__name__ in LOADER_CLASSES, f"{model_class.__name__} ({name}) is missing from LOADER_CLASSES"
    return out


def test_every_registered_class_is_in_the_loader_and_in_auto_map():
    registered = _registered_hf_motion_classes()
    assert {"MotionGPT2Config", "MotionMultiTaskConfig", "MotionVQConfig"} <= set(registered)
    for config_name, autos in registered.items():
        assert config_name in LOADER_CLASSES
        assert autos <= set(MODEL_AUTO_CLASSES), f"add {autos - set(MODEL_AUTO_CLASSES)} to MODEL_AUTO_CLASSES"
        config_class = getattr(__import__(LOADER_CLASSES[config_name], fromlist=[config_name]), config_name)
        assert set(config_auto_map(config_class)) == {"AutoConfig", *autos}, config_name


def test_loader_source_defines_each_class_as_a_subclass_of_hf_motions(tmp_path):
    namespace: dict = {}
    exec(compile(loader_source(), LOADER_FILE, "exec"), namespace)
    for name, module in LOADER_CLASSES.items():
        real = getattr(__import__(module, fromlist=[name]), name)
        assert namespace[name].__name__ == name and namespace[name].__mro__[1] is real


def test_hub_folder_check_refuses_a_missing_loader(lm_dir, tmp_path):
    import shutil

    folder = tmp_path / "repo"
    shutil.copytree(lm_dir, folder)
    (folder / "README.md").write_text("---\nlicense: mit\nlibrary_name: hf_motion\n---\n# a card\n")
    assert LOADER_FILE in check_hub_folder(folder)
    (folder / LOADER_FILE).unlink()
    with pytest.raises(ModelCardError, match=r"config.json.*hf_motion_loader\.py"):
        check_hub_folder(folder)


def test_a_users_own_subclass_gets_no_loader(lm_dir, tmp_path):
    # The loader only knows hf_motion's classes; a user's subclass is loaded by the user's package.
    class MyConfig(hf_motion.MotionGPT2Config):
        pass

    class MyProcessor(MotionProcessor):
        pass

    MyConfig(n_layer=1).save_pretrained(tmp_path / "config")
    assert "auto_map" not in json.loads((tmp_path / "config" / "config.json").read_text())
    ours = MotionProcessor.from_pretrained(lm_dir)
    MyProcessor(ours.tokenizer, fps=ours.fps, window=ours.window, stride=ours.stride).save_pretrained(tmp_path / "processor")
    assert "auto_map" not in json.loads((tmp_path / "processor" / "preprocessor_config.json").read_text())
    assert not (tmp_path / "config" / LOADER_FILE).exists() and not (tmp_path / "processor" / LOADER_FILE).exists()
    hf_motion.MotionGPT2Config(n_layer=1).save_pretrained(tmp_path / "ours")  # and ours still gets it
    assert (tmp_path / "ours" / LOADER_FILE).is_file()
