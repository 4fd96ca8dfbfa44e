"""pipeline("motion-classification") and pipeline("motion-prediction") on saved model folders and real clips."""

import numpy as np
import pytest
import torch
from transformers import pipeline

import hf_motion
from hf_motion import MotionProcessor, MotionProcessorError, MotionTokenizer
from hf_motion.modeling import motion_gpt2_config
from hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig
from hf_motion.resources import tokenizer_config_path
from hf_motion.skeletons import resolve_joint_subset

from conftest import REPO, tiny_lm

STYLES = ["normal", "proud", "tired"]
TARGETS = [
    {"name": "style", "kind": "multiclass", "num_classes": 3, "classes": STYLES},
    {"name": "fast", "kind": "binary", "classes": ["no", "yes"]},
]


@pytest.fixture(scope="module")
def processor(walk_motion):
    core = resolve_joint_subset("bandai-core", walk_motion.skeleton)
    tok = MotionTokenizer.from_pretrained(tokenizer_config_path("m5-delta-motion"), joint_names=core)
    return MotionProcessor(tok, fps=10, window=12, stride=6)


def _save(model, processor, folder):
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def classifier_dir(processor, tmp_path_factory):
    torch.manual_seed(0)
    backbone = motion_gpt2_config("tiny", processor.tokenizer, initializer_range=0.3)
    cfg = MotionMultiTaskConfig.from_backbone_config(backbone, targets=TARGETS, head_dropout=0.0)
    return _save(MotionGPT2ForMultiTask(cfg).eval(), processor, tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="module")
def lm_dir(processor, tmp_path_factory):
    model = tiny_lm(processor.tokenizer)
    return _save(model, processor, tmp_path_factory.mktemp("lm"))


def test_classification_averages_the_clip_windows(classifier_dir, processor, bandai_paths):
    classify = pipeline("motion-classification", model=str(classifier_dir), device="cpu")
    path = str(bandai_paths[0])
    out = classify(path)
    assert set(out) == {"style", "fast"}
    # Recomputed by hand: every window of the prepared clip, softmax / sigmoid, mean over windows.
    batch = processor(path, return_tensors="pt")
    assert batch["input_ids"].shape[0] > 1
    with torch.no_grad():
        logits = classify.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    style = torch.softmax(logits[:, :3], -1).mean(0).numpy()
    fast = torch.sigmoid(logits[:, 3]).mean().item()
    assert [d["label"] for d in out["style"]] == [STYLES[k] for k in np.argsort(-style, kind="stable")]
    assert [d["score"] for d in out["style"]] == pytest.approx(sorted(style, reverse=True), abs=1e-5)
    assert sum(d["score"] for d in out["style"]) == pytest.approx(1.0, abs=1e-5)
    assert {d["label"]: d["score"] for d in out["fast"]} == pytest.approx({"yes": fast, "no": 1 - fast}, abs=1e-5)
    # A list gives one result per clip; top_k cuts the multiclass list.
    two = classify([path, str(bandai_paths[1])], top_k=1)
    assert len(two) == 2 and len(two[0]["style"]) == 1 and two[0]["style"][0]["label"] == out["style"][0]["label"]


def test_classification_takes_a_motion_and_arrays_at_another_rate(classifier_dir, walk_motion):
    classify = pipeline("motion-classification", model=str(classifier_dir), device="cpu")
    from_path = classify(walk_motion)
    as_arrays = classify({"skeleton": walk_motion.skeleton, "rotations": walk_motion.rotations,
                          "root_translation": walk_motion.root_translation, "fps": walk_motion.fps})  # fmt: skip
    assert as_arrays == from_path
    # The clip at 30 fps is resampled to the model's 10 fps: the same windows as a clip already at 10 fps.
    at10 = hf_motion.resample_motion(walk_motion, 10)
    resampled = classify(at10)["style"]
    assert [d["label"] for d in resampled] == [d["label"] for d in from_path["style"]]
    assert [d["score"] for d in resampled] == pytest.approx([d["score"] for d in from_path["style"]], abs=1e-6)


def test_a_skeleton_without_the_model_joints_is_refused_by_name(classifier_dir, walk_motion):
    classify = pipeline("motion-classification", model=str(classifier_dir), device="cpu")
    cmu = hf_motion.load_bvh(REPO / "tests" / "fixtures" / "cmu_31joint.bvh")
    with pytest.raises(MotionProcessorError, match=r"cmu_31joint\.bvh.* lacks .*Chest"):
        classify(cmu)
    with pytest.raises(MotionProcessorError, match="missing \\['fps'\\]"):
        classify({"skeleton": walk_motion.skeleton, "rotations": walk_motion.rotations})
    with pytest.raises(TypeError, match="motion file path, a hf_motion.Motion"):
        classify(np.zeros((10, 17, 3)))


def test_a_folder_without_a_processor_says_what_is_missing(classifier_dir, tmp_path):
    model = MotionGPT2ForMultiTask.from_pretrained(classifier_dir)
    model.save_pretrained(tmp_path)  # the weights only
    with pytest.raises(MotionProcessorError, match="preprocessor_config.json"):
        pipeline("motion-classification", model=str(tmp_path), device="cpu")


def test_prediction_continues_a_real_clip_at_the_model_rate(lm_dir, processor, walk_motion):
    predict = pipeline("motion-prediction", model=str(lm_dir), device="cpu")
    context = walk_motion.slice(0, 30)  # 1 s at 30 fps: 10 frames at the model rate
    out = predict(context, seconds=0.4)
    assert isinstance(out, hf_motion.Motion)
    assert out.fps == 10 and out.num_frames == 4 and out.rotations.shape == (4, processor.num_joints, 3)
    assert out.skeleton.names == processor.joints
    # The same as calling predict() with the processor directly (greedy decoding is deterministic).
    from hf_motion.generation import predict as predict_fn

    direct = predict_fn(predict.model, processor, context, 0.4)
    np.testing.assert_allclose(out.rotations, direct.rotations)
