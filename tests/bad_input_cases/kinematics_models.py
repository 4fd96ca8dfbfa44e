"""Bad-input rows for forward kinematics, Motion/Skeleton, joint subsets, the models and predict().

Models are ``tiny`` presets built here and saved in ``tmp_path``; real clips are read in place from
``conftest.BANDAI1``. Rows with ``error=None`` must now succeed, and their run checks the result
against an independent path (e.g. FK on numpy equals FK on float64 tensors).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from bad_input_cases import Case
from hf_motion.generation import MotionPromptError
from hf_motion.motion import MotionError

from conftest import BANDAI1

CORE = ["Hips", "Spine", "Chest", "Neck", "Head",
        "UpperArm_L", "LowerArm_L", "Hand_L", "UpperArm_R", "LowerArm_R", "Hand_R",
        "UpperLeg_L", "LowerLeg_L", "Foot_L", "UpperLeg_R", "LowerLeg_R", "Foot_R"]  # fmt: skip
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _walk(frames: int = 6):
    from hf_motion import load_bvh

    return load_bvh(BANDAI1 / "dataset-1_walk_normal_001.bvh").slice(0, frames)


def _chain(n: int = 4):
    from hf_motion import Skeleton

    return Skeleton([f"j{i}" for i in range(n)], [-1] + list(range(n - 1)), [[0, 0, 0]] + [[0, 0.1, 0]] * (n - 1))


def _fk_inputs(seed: int = 0, T: int = 5, J: int = 4):
    rng = np.random.default_rng(seed)
    rot = rng.normal(scale=0.5, size=(T, J, 3))
    tr = np.broadcast_to(np.array([0.0, 0.1, 0.0]), (T, J, 3)).copy()
    tr[:, 0] = rng.normal(size=(T, 3))
    return rot, tr, [-1] + list(range(J - 1))


def _tok(**kw):
    from hf_motion.tokenizer import MotionTokenizer

    return MotionTokenizer(**kw)


def _tiny(cls_name: str = "MotionGPT2ForCausalLM", tok=None, seed: int = 0, **overrides):
    import hf_motion.modeling as modeling

    torch.manual_seed(seed)
    cfg = modeling.motion_gpt2_config("tiny", tok if tok is not None else _tok(), **overrides)
    return getattr(modeling, cls_name)(cfg).eval()


def _saved(tmp_path: Path, name: str = "ckpt", **overrides) -> Path:
    folder = tmp_path / name
    _tiny(**overrides).save_pretrained(folder)
    return folder


# ------------------------------------------------------------------ forward kinematics
def fk_numpy(tmp_path):
    from hf_motion.kinematics import forward_kinematics

    rot, tr, parents = _fk_inputs()
    out = forward_kinematics(rot, tr, parents)
    ref = forward_kinematics(torch.from_numpy(rot), torch.from_numpy(tr), parents)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, ref.numpy())


def fk_mixed_dtypes(tmp_path):
    from hf_motion.kinematics import forward_kinematics

    rot, tr, parents = _fk_inputs(1)
    rot32 = torch.from_numpy(rot).float()
    out = forward_kinematics(rot32, torch.from_numpy(tr), parents)
    assert out.dtype == torch.float64  # promoted, not truncated
    ref = forward_kinematics(rot32.double(), torch.from_numpy(tr), parents)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def fk_non_topological_parents(tmp_path):
    from hf_motion.kinematics import forward_kinematics

    rot, tr, _ = _fk_inputs(J=3)
    forward_kinematics(torch.from_numpy(rot), torch.from_numpy(tr), [-1, 2, 0])


def fk_parent_out_of_range(tmp_path):
    from hf_motion.kinematics import forward_kinematics

    rot, tr, _ = _fk_inputs(J=3)
    forward_kinematics(rot, tr, [-1, 0, 7])


def fk_nan_rotations(tmp_path):
    from hf_motion.kinematics import forward_kinematics

    rot, tr, parents = _fk_inputs()
    rot[3, 2, 1] = np.nan
    forward_kinematics(torch.from_numpy(rot), torch.from_numpy(tr), parents)


def fk_inf_translations_numpy(tmp_path):
    from hf_motion.kinematics import forward_kinematics

    rot, tr, parents = _fk_inputs()
    tr[1, 0, 2] = np.inf
    forward_kinematics(rot, tr, parents)


def fk_complex_rotations(tmp_path):
    from hf_motion.kinematics import forward_kinematics

    rot, tr, parents = _fk_inputs()
    forward_kinematics(torch.from_numpy(rot + 0.1j), torch.from_numpy(tr), parents)


def motion_nan_rotation_real_clip(tmp_path):
    from hf_motion import Motion

    m = _walk()
    rot = m.rotations.copy()
    rot[4, m.skeleton.index("Neck"), 0] = np.nan
    Motion(rot, m.root_translation, m.skeleton, m.fps)


def motion_edited_to_nan_then_fk(tmp_path):
    m = _walk()
    m.rotations[2, m.skeleton.index("Foot_L"), 1] = np.inf  # edited after construction
    m.positions()


def motion_complex_rotations(tmp_path):
    from hf_motion import Motion

    Motion(np.zeros((3, 4, 3)) + 0.5j, np.zeros((3, 3)), _chain(4), 30)


def motion_rotation_shape(tmp_path):
    from hf_motion import Motion

    Motion(np.zeros((3, 5, 3)), np.zeros((3, 3)), _chain(4), 30)


def motion_root_translation_shape(tmp_path):
    from hf_motion import Motion

    Motion(np.zeros((3, 4, 3)), np.zeros((2, 3)), _chain(4), 30)


def motion_zero_fps(tmp_path):
    from hf_motion import Motion

    Motion(np.zeros((3, 4, 3)), np.zeros((3, 3)), _chain(4), 0)


def motion_nan_fps(tmp_path):
    from hf_motion import Motion

    Motion(np.zeros((3, 4, 3)), np.zeros((3, 3)), _chain(4), float("nan"))


def skeleton_name_count(tmp_path):
    from hf_motion import Skeleton

    Skeleton(["a", "b"], [-1, 0, 1], np.zeros((3, 3)))


def skeleton_duplicate_names(tmp_path):
    from hf_motion import Skeleton

    Skeleton(["Hips", "Spine", "Hips"], [-1, 0, 1], np.zeros((3, 3)))


def skeleton_non_topological(tmp_path):
    from hf_motion import Skeleton

    Skeleton(["a", "b", "c"], [-1, 2, 0], np.zeros((3, 3)))


# ------------------------------------------------------------------ joint subsets
def subset_bandai_core_on_cmu(tmp_path):
    from hf_motion import load_bvh

    load_bvh(FIXTURES / "cmu_31joint.bvh").select_joints("bandai-core")


def subset_fits_bandai(tmp_path):
    m = _walk()
    core = m.select_joints("bandai-core")
    assert core.skeleton.names == CORE
    keep = [m.skeleton.index(n) for n in CORE]
    np.testing.assert_allclose(core.positions(), m.positions()[:, keep], atol=1e-9)


# ------------------------------------------------------------------ model entry points
def _walk_ids(tok, joints=CORE, frames=3):
    m = _walk(frames * 2).select_joints(joints).slice(0, frames * 2, 2)
    return torch.as_tensor(tok.encode_motion(angles=m.rotations, task=">"))[None]


def ids_beyond_vocab(tmp_path):
    tok = _tok()
    ids = _walk_ids(tok)
    ids[0, 10] = len(tok) + 100
    _tiny(tok=tok)(ids)


def ids_negative(tmp_path):
    tok = _tok()
    ids = _walk_ids(tok)
    ids[0, 7] = -1
    _tiny(tok=tok)(ids)


def ids_float(tmp_path):
    tok = _tok()
    _tiny(tok=tok)(_walk_ids(tok).float())


def input_longer_than_n_positions(tmp_path):
    tok = _tok()
    model = _tiny(tok=tok)
    ids = _walk_ids(tok, frames=30)  # 30 frames x (17 * 3 + 1) tokens > 1024
    assert ids.shape[1] > model.config.n_positions
    model(ids)


def generate_past_n_positions(tmp_path):
    tok = _tok()
    model = _tiny(tok=tok)
    ids = _walk_ids(tok, frames=19)[:, :-1]  # 990 tokens, no <eos>
    model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=60, min_new_tokens=60, do_sample=False)


def _wide_ids(tok, n_joints=70, frames=2):
    rng = np.random.default_rng(0)
    return torch.as_tensor(tok.encode_motion(angles=rng.uniform(-1, 1, size=(frames, n_joints, 3)), task=">"))[None]


def joints_past_max_joints(tmp_path):
    tok = _tok()
    _tiny(tok=tok)(_wide_ids(tok))


def generate_joints_past_max_joints(tmp_path):
    tok = _tok()
    ids = _wide_ids(tok)[:, :-1]
    _tiny(tok=tok).generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=2, do_sample=False)


def wide_skeleton_with_max_joints_raised(tmp_path):
    tok = _tok()
    ids = _wide_ids(tok)
    model = _tiny(tok=tok, max_joints=70)
    with torch.no_grad():
        logits = model(ids).logits
    j, _ = model.transformer.motion_position_indices(ids)
    assert int(j.max()) == 69 and torch.isfinite(logits).all()


def cached_forward_without_indices(tmp_path):
    tok = _tok()
    model = _tiny(tok=tok)
    ids = _walk_ids(tok)
    with torch.no_grad():
        cache = model(ids[:, :20], use_cache=True).cache
        model(ids[:, 20:21], cache=cache)


def truncated_safetensors(tmp_path):
    from hf_motion.modeling import MotionGPT2ForCausalLM

    folder = _saved(tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    MotionGPT2ForCausalLM.from_pretrained(folder)


def truncated_safetensors_auto(tmp_path):
    from transformers import AutoModelForSequenceClassification

    import hf_motion  # noqa: F401  (registers the Auto classes)

    folder = _saved(tmp_path)
    (folder / "model.safetensors").write_bytes(b"\x08\x00")
    AutoModelForSequenceClassification.from_pretrained(folder)


def n_layer_mismatch(tmp_path):
    from transformers import AutoModelForCausalLM

    import hf_motion  # noqa: F401

    folder = _saved(tmp_path, n_layer=4)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["n_layer"] = 1
    (folder / "config.json").write_text(json.dumps(cfg))
    AutoModelForCausalLM.from_pretrained(folder)


def more_layers_than_checkpoint(tmp_path):
    from hf_motion.modeling import MotionGPT2ForCausalLM

    folder = _saved(tmp_path, n_layer=2)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["n_layer"] = 3
    (folder / "config.json").write_text(json.dumps(cfg))
    MotionGPT2ForCausalLM.from_pretrained(folder)


def classification_head_from_causal_checkpoint(tmp_path):
    from transformers import AutoModelForSequenceClassification

    from hf_motion.modeling import MotionGPT2ForSequenceClassification
    from hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask

    lm = _tiny()
    folder = tmp_path / "lm"
    lm.save_pretrained(folder)
    clf, info = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3, output_loading_info=True)
    assert type(clf) is MotionGPT2ForSequenceClassification
    assert info["missing_keys"] == {"score.weight"} and not info["unexpected_keys"]
    for name, value in lm.transformer.state_dict().items():
        assert torch.equal(clf.transformer.state_dict()[name], value), name
    mt, info = MotionGPT2ForMultiTask.from_pretrained(folder, targets=[{"name": "tired", "kind": "binary"}], output_loading_info=True)
    assert info["missing_keys"] == {"heads.tired.weight", "heads.tired.bias"}
    assert torch.equal(mt.transformer.wte.weight, lm.transformer.wte.weight)


def classification_pad_equals_eos(tmp_path):
    _tiny("MotionGPT2ForSequenceClassification", pad_token_id=2, num_labels=2)


def classification_pad_none(tmp_path):
    _tiny("MotionGPT2ForSequenceClassification", pad_token_id=None, num_labels=2)


def multitask_pad_equals_eos(tmp_path):
    from hf_motion.modeling import motion_gpt2_config
    from hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig

    cfg = MotionMultiTaskConfig.from_backbone_config(
        motion_gpt2_config("tiny", _tok(), pad_token_id=2), targets=[{"name": "tired", "kind": "binary"}]
    )
    MotionGPT2ForMultiTask(cfg)


# ------------------------------------------------------------------ skeleton contract / predict
def config_keeps_tokenizer_joint_names(tmp_path):
    from transformers import AutoConfig

    from hf_motion.modeling import motion_gpt2_config

    cfg = motion_gpt2_config("tiny", _tok(joint_names=CORE))
    assert cfg.joint_names == CORE
    cfg.save_pretrained(tmp_path / "cfg")
    assert json.loads((tmp_path / "cfg" / "config.json").read_text())["joint_names"] == CORE
    assert AutoConfig.from_pretrained(tmp_path / "cfg").joint_names == CORE
    assert motion_gpt2_config("tiny", _tok()).joint_names is None


def predict_full_clip_on_core_model(tmp_path):
    from hf_motion.generation import predict

    tok = _tok(joint_names=CORE)
    predict(_tiny(tok=tok), tok, _walk(4), seconds=0.1)  # 22 joints for a 17-joint model


def predict_100_joint_clip(tmp_path):
    from hf_motion import Motion
    from hf_motion.generation import predict

    tok = _tok(joint_names=CORE)
    model = _tiny(tok=tok)
    predict(model, tok, Motion(np.zeros((3, 100, 3)), np.zeros((3, 3)), _chain(100), 30), seconds=0.1)


def predict_same_count_other_names(tmp_path):
    from hf_motion.generation import predict

    tok = _tok()
    model = _tiny(tok=tok, joint_names=CORE)  # the contract lives in the model config only
    other = [n for n in CORE if n != "Chest"] + ["Toes_L"]
    predict(model, tok, _walk(4).select_joints(other), seconds=0.1)


def predict_ids_wrong_frame_width(tmp_path):
    from hf_motion.generation import predict

    tok = _tok(joint_names=CORE)
    ids = _walk_ids(_tok(), joints=CORE[:5])[0, :-1]  # a 5-joint prompt (encoded without names) for a 17-joint model
    predict(_tiny(tok=tok), tok, ids, seconds=0.1, fps=30)


def predict_ids_wrong_frame_width_config_only(tmp_path):
    from hf_motion.generation import predict

    tok = _tok()
    ids = _walk_ids(tok, joints=CORE[:5])[0, :-1]
    predict(_tiny(tok=tok, joint_names=CORE), tok, ids, seconds=0.1, fps=30)  # names in the model config only


def predict_matching_clip(tmp_path):
    from hf_motion import Motion
    from hf_motion.generation import predict

    tok = _tok(joint_names=CORE)
    clip = _walk(4).select_joints("bandai-core")
    pred = predict(_tiny(tok=tok), tok, clip, seconds=0.1)
    assert isinstance(pred, Motion) and pred.num_frames == 3 and pred.skeleton.names == CORE


CASES = [
    Case("fk-numpy-arrays", fk_numpy, None, description="FK on numpy arrays: returns numpy, equal to the torch path"),
    Case("fk-mixed-float32-float64", fk_mixed_dtypes, None, description="float32 rotations with float64 translations: computed in float64"),
    Case(
        "fk-non-topological-parents",
        fk_non_topological_parents,
        MotionError,
        r"joint 1 has parent 2.*topological",
        description="parents [-1, 2, 0]",
    ),
    Case(
        "fk-parent-out-of-range",
        fk_parent_out_of_range,
        MotionError,
        r"joint 2 has parent 7",
        description="parents [-1, 0, 7] for 3 joints",
    ),
    Case(
        "fk-nan-rotations",
        fk_nan_rotations,
        MotionError,
        r"rotations has a non-finite value \(nan\) at frame 3, joint 2",
        description="a NaN in the rotation tensor",
    ),
    Case(
        "fk-inf-translations-numpy",
        fk_inf_translations_numpy,
        MotionError,
        r"translations has a non-finite value \(inf\) at frame 1, joint 0",
        description="an inf root translation",
    ),
    Case("fk-complex-rotations", fk_complex_rotations, MotionError, r"complex", description="complex rotations are refused, not cast"),
    Case(
        "motion-nan-rotation-real-clip",
        motion_nan_rotation_real_clip,
        MotionError,
        r"non-finite value .* at frame 4, joint 'Neck'",
        description="a Bandai clip with one NaN angle",
    ),
    Case(
        "motion-edited-to-inf-then-fk",
        motion_edited_to_nan_then_fk,
        MotionError,
        r"dataset-1_walk_normal_001\.bvh.*non-finite.*frame 2, joint 16 \('Foot_L'\)",
        description="rotations set to inf after the Motion was built; FK names the file, frame and joint",
    ),
    Case(
        "motion-complex-rotations",
        motion_complex_rotations,
        MotionError,
        r"rotations must be real.*complex",
        description="complex rotations in Motion()",
    ),
    Case(
        "motion-rotation-shape",
        motion_rotation_shape,
        MotionError,
        r"rotations has shape \(3, 5, 3\), expected \(T, 4, 3\)",
        description="5-joint rotations on a 4-joint skeleton",
    ),
    Case(
        "motion-root-translation-shape",
        motion_root_translation_shape,
        MotionError,
        r"root_translation has shape \(2, 3\), expected \(3, 3\)",
        description="root translation of the wrong length",
    ),
    Case("motion-zero-fps", motion_zero_fps, MotionError, r"fps must be a positive number.*got 0", description="fps=0"),
    Case("motion-nan-fps", motion_nan_fps, MotionError, r"fps must be a positive number.*nan", description="fps=NaN"),
    Case(
        "skeleton-name-count",
        skeleton_name_count,
        MotionError,
        r"parents has shape \(3,\), expected \(2,\) for 2 joint names",
        description="2 names for 3 parents",
    ),
    Case(
        "skeleton-duplicate-names",
        skeleton_duplicate_names,
        MotionError,
        r"duplicate joint names: \['Hips'\]",
        description="the same joint name twice",
    ),
    Case(
        "skeleton-non-topological",
        skeleton_non_topological,
        MotionError,
        r"joint 1 \('b'\) has parent 2",
        description="a Skeleton with parents out of order",
    ),
    Case(
        "subset-bandai-core-on-cmu",
        subset_bandai_core_on_cmu,
        MotionError,
        r"cmu_31joint\.bvh.*'bandai-core'.*\['Chest', 'UpperArm_L'.*not in this skeleton.*31 joints.*'LHipJoint'",
        description="a Bandai subset on a CMU skeleton: names the file, the missing and the available joints",
    ),
    Case("subset-fits-bandai", subset_fits_bandai, None, description="the same subset on a Bandai clip keeps positions"),
    Case(
        "model-ids-beyond-vocab",
        ids_beyond_vocab,
        ValueError,
        r"id 620 \(row 0, position 10\).*vocab_size=520",
        description="an id past the vocabulary (crashed inside torch's embedding)",
    ),
    Case(
        "model-negative-ids", ids_negative, ValueError, r"negative id -1 \(row 0, position 7\).*vocab_size=520", description="a negative id"
    ),
    Case(
        "model-float-ids", ids_float, ValueError, r"input_ids must be an integer tensor, got torch\.float32", description="float input_ids"
    ),
    Case(
        "model-input-longer-than-n-positions",
        input_longer_than_n_positions,
        ValueError,
        r"\d{4} tokens long.*n_positions=1024",
        description="30 frames of 17 joints in a 1024-position model",
    ),
    Case(
        "generate-past-n-positions",
        generate_past_n_positions,
        ValueError,
        r"1025 tokens.*n_positions=1024",
        description="generate() running past n_positions",
    ),
    Case(
        "model-joints-past-max-joints",
        joints_past_max_joints,
        ValueError,
        r"a frame has 70 joints.*max_joints=64.*share one embedding.*max_joints=70",
        description="a 70-joint frame: joints past 63 would share one embedding",
    ),
    Case(
        "generate-joints-past-max-joints",
        generate_joints_past_max_joints,
        ValueError,
        r"max_joints=64",
        description="the same prompt through generate()",
    ),
    Case(
        "model-max-joints-raised",
        wide_skeleton_with_max_joints_raised,
        None,
        description="with max_joints=70 the 70-joint frame gets 70 distinct indices",
    ),
    Case(
        "model-cached-forward-without-indices",
        cached_forward_without_indices,
        ValueError,
        r"joint_ids/frame_ids",
        description="a cached step without joint/frame indices",
    ),
    Case(
        "truncated-safetensors",
        truncated_safetensors,
        OSError,
        r"ckpt[/\\]model\.safetensors.*truncated or corrupt",
        description="half of model.safetensors",
    ),
    Case(
        "truncated-safetensors-auto-class",
        truncated_safetensors_auto,
        OSError,
        r"ckpt[/\\]model\.safetensors",
        description="a 2-byte model.safetensors through AutoModelForSequenceClassification",
    ),
    Case(
        "config-n-layer-below-checkpoint",
        n_layer_mismatch,
        ValueError,
        r"layer\(s\) \[1, 2, 3\] beyond config n_layer=1.*transformer\.h\.1\.",
        description="config.json edited to n_layer=1 for a 4-layer checkpoint",
    ),
    Case(
        "config-n-layer-above-checkpoint",
        more_layers_than_checkpoint,
        ValueError,
        r"n_layer=3 but the checkpoint lacks layer\(s\) \[2\].*missing",
        description="n_layer=3 for a 2-layer checkpoint",
    ),
    Case(
        "classification-head-from-causal-checkpoint",
        classification_head_from_causal_checkpoint,
        None,
        description="new score / multi-task heads on a causal-LM checkpoint still load (loading info intact)",
    ),
    Case(
        "classification-pad-equals-eos",
        classification_pad_equals_eos,
        ValueError,
        r"pad_token_id.*distinct from eos_token_id.*pad_token_id=2, eos_token_id=2",
        description="MotionGPT2ForSequenceClassification with pad == eos",
    ),
    Case(
        "classification-pad-none",
        classification_pad_none,
        ValueError,
        r"pad_token_id=None",
        description="MotionGPT2ForSequenceClassification without a pad id",
    ),
    Case(
        "multitask-pad-equals-eos",
        multitask_pad_equals_eos,
        ValueError,
        r"MotionGPT2ForMultiTask needs.*pad_token_id",
        description="MotionGPT2ForMultiTask with pad == eos",
    ),
    Case(
        "config-keeps-tokenizer-joint-names",
        config_keeps_tokenizer_joint_names,
        None,
        description="joint_names travel from the tokenizer into config.json and back",
    ),
    Case(
        "predict-full-clip-on-core-model",
        predict_full_clip_on_core_model,
        MotionError,
        r"walk_normal_001\.bvh\) has 22 joints .*made for 17 joints \['Hips'"
        r".*not the model's: \['joint_Root', 'Shoulder_L'.*select_joints\(\['Hips'",
        description="a 22-joint clip for a 17-joint model",
    ),
    Case(
        "predict-100-joint-clip",
        predict_100_joint_clip,
        MotionError,
        r"has 100 joints .*made for 17 joints.*missing \['Hips'.*another skeleton",
        description="a 100-joint clip for a 17-joint model",
    ),
    Case(
        "predict-same-count-other-names",
        predict_same_count_other_names,
        MotionError,
        r"has 17 joints .*made for 17 joints .*missing \['Chest'\]; not the model's: \['Toes_L'\]",
        description="17 joints, but not the model's",
    ),
    Case(
        "predict-ids-wrong-frame-width",
        predict_ids_wrong_frame_width,
        MotionPromptError,
        r"5 joints\).*made for 17 joints",
        description="a 5-joint prompt (ids) for a 17-joint model",
    ),
    Case(
        "predict-ids-wrong-frame-width-config-only",
        predict_ids_wrong_frame_width_config_only,
        MotionPromptError,
        r"prompt's frames have 5 joints.*made for 17",
        description="the same, with joint_names only in the model config",
    ),
    Case("predict-matching-clip", predict_matching_clip, None, description="the model's own joints predict fine"),
]
