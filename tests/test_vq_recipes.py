"""Smoke runs of ``recipes/train_vq.py`` and ``recipes/train_generator.py`` on real Bandai clips with
tiny models: the saved folders reload with the Auto classes, the recorded numbers are those of
the saved model on the same held-out clips, a rerun resumes, and the generator uses the
tokenizer's own split."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from transformers import AutoModel, AutoModelForCausalLM, AutoProcessor, AutoTokenizer, Trainer

import hf_motion  # noqa: F401  (registers the Auto classes)
import hf_motion.models.motion_vq.training_motion_vq as training_motion_vq
from hf_motion.datasets import as_collection
from hf_motion.evaluation.generation_benchmark import GenerationBenchmarkError, choose_guidance, guidance_candidates, guidance_name
from hf_motion.models.motion_code_gpt.modeling_motion_code_gpt import MotionCodeGPTForCausalLM, generate_codes
from hf_motion.models.motion_vq import MotionVQProcessor, MotionVQVAE
from hf_motion.models.motion_vq.training_motion_vq import evaluate_reconstruction, load_motions, split_clips

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true:UserWarning"),
    pytest.mark.filterwarnings("ignore::hf_motion.generation_metrics.FewSamplesWarning"),  # a few held-out clips
]

REPO = Path(__file__).resolve().parents[1]
SOURCE, MAX_CLIPS, K, L = "bandai-namco:dataset-1", 60, 16, 2
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def vq_argv(out: Path, max_steps: int) -> list[str]:
    return [
        "--sources", SOURCE, "--max_clips", str(MAX_CLIPS), "--max_steps", str(max_steps), "--hidden_size", "16",
        "--codebook_dim", "16", "--codebook_size", str(K), "--num_quantizers", str(L), "--window", "16",
        "--stride", "16", "--eval_steps", "3", "--save_steps", "3", "--logging_steps", "3",
        "--rate_distortion_bins", "16", "--disable_tqdm", "true", "--output_dir", str(out),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def train_vq():
    from hf_motion.scripts import train_vq

    return train_vq


@pytest.fixture(scope="module")
def train_generator():
    from hf_motion.scripts import train_generator

    return train_generator


@pytest.fixture(scope="module")
def vq_run(train_vq, tmp_path_factory):
    out = tmp_path_factory.mktemp("vq") / "run"
    return out, train_vq.cli(vq_argv(out, 6))


def _readme_snippet(marker: str) -> str:
    """The README's python block that contains ``marker``."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)
    (block,) = [b for b in blocks if marker in b]
    return block


def test_readme_vq_snippet_runs_on_a_saved_tokenizer(vq_run, bandai_paths):
    vq_dir, _ = vq_run
    code = _readme_snippet('AutoModel.from_pretrained("runs/vq")')
    assert '"runs/vq"' in code and '"my_clip.bvh"' in code, "the README's VQ snippet changed; update this test"
    scope: dict = {}
    exec(
        compile(code.replace('"runs/vq"', repr(str(vq_dir))).replace('"my_clip.bvh"', repr(str(bandai_paths[0]))), "README.md", "exec"),
        scope,
    )
    codes, motion, text = scope["codes"], scope["motion"], scope["text"]
    assert codes.ndim == 2 and motion.num_frames > 0
    assert text.startswith("<motion_start>") and text.endswith("<motion_end>")


def test_train_motion_tokenizer_returns_the_run_it_writes(train_vq, tmp_path):
    # The library function under the script: typed fields, the same numbers as the folder's files.
    from hf_motion.models.motion_vq.training_motion_vq import MotionTokenizerRun, train_motion_tokenizer

    out = tmp_path / "run"
    run = train_motion_tokenizer(*train_vq.make_parser().parse(vq_argv(out, 3)))
    assert isinstance(run, MotionTokenizerRun) and run.output_dir == out and run.steps == 3
    assert json.loads((out / "vq_summary.json").read_text()) == json.loads(json.dumps(run.summary))
    assert (out / "rate_distortion.md").read_text().strip() == run.table.strip()
    assert (
        run.reconstruction.num_clips == run.summary["clips"]["test"]
        and run.rate_distortion[0].to_dict() == run.summary["rate_distortion"][0]
    )
    config = json.loads((out / "config.json").read_text())
    assert config["codebook_size"] == K and "num_threads" not in config  # a run option, not a model property


def _vq_split(summary) -> dict[str, list]:
    """The tokenizer's split, rebuilt from what its summary records."""
    fractions = {k: float(v) for k, v in (p.split("=") for p in summary["splits"].split(","))}
    return split_clips(as_collection(summary["sources"])[:MAX_CLIPS], fractions, summary["split_seed"])


def _state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "trainer_state.json").read_text())


def test_train_vq_saves_a_folder_that_reloads_and_reproduces_its_numbers(vq_run):
    out, summary = vq_run
    assert json.loads((out / "vq_summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["steps"] == 6 and summary["sources"] == [SOURCE] and summary["max_clips"] == MAX_CLIPS
    model, processor = AutoModel.from_pretrained(out), AutoProcessor.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert isinstance(model, MotionVQVAE) and isinstance(processor, MotionVQProcessor)
    assert model.config.codebook_size == K and model.config.tokens_per_step == L and model.config.hidden_size == 16
    assert processor.fps == 20 and processor.codebook_size == K and processor.tokens_per_step == L
    assert len(tok) == 5 + K * L and tok.convert_tokens_to_ids(f"<motion_id_{K * L - 1}>") == 5 + K * L - 1

    split = _vq_split(summary)
    assert summary["clips"] == {k: len(v) for k, v in split.items()} and sum(summary["clips"].values()) == MAX_CLIPS
    test_motions = load_motions(split["test"], processor.fps, progress=False)
    rec = evaluate_reconstruction(model, processor, test_motions).to_dict()
    saved = summary["reconstruction"]
    for key in ("mpjpe_mm", "mpjpe_fk_mm", "angle_error_deg", "code_usage", "perplexity", "tokens_per_second"):
        assert saved[key] == pytest.approx(rec[key], rel=1e-6), key
        assert math.isfinite(saved[key])
    assert saved["num_clips"] == rec["num_clips"] == len(split["test"]) and saved["num_frames"] == rec["num_frames"]
    assert saved["usage_per_codebook"] == pytest.approx(rec["usage_per_codebook"])

    # The code vocabulary tokenizes the processor's text form of the codes: one token per code.
    codes = processor.encode(model, test_motions[0])
    ids = tok(processor.codes_to_text(codes))["input_ids"]
    assert len(ids) == 2 + codes.size and ids[1] == tok.convert_tokens_to_ids(f"<motion_id_{int(codes[0, 0])}>")

    rows = [line for line in (out / "rate_distortion.md").read_text().splitlines() if line.startswith("|")][2:]
    points = summary["rate_distortion"]
    assert len(rows) == len(points) >= 2
    assert sorted(r.split("|")[1].strip() for r in rows) == sorted(p["method"] for p in points)
    assert any(p["method"].startswith("VQ residual 2x16") and p["mpjpe_mm"] == saved["mpjpe_mm"] for p in points)
    assert (out / "rate_distortion.png").read_bytes()[:8] == PNG_MAGIC
    card = (out / "README.md").read_text()
    assert f"| MPJPE, position channel (mm) | {saved['mpjpe_mm']:.1f} |" in card
    assert "library_name: hf_motion" in card and "license: cc-by-nc-4.0" in card
    assert str(out) not in card and str(REPO) not in card
    assert _state(out / "checkpoint-6")["global_step"] == 6


def test_train_vq_rerun_resumes_from_the_last_checkpoint(train_vq, vq_run, tmp_path, monkeypatch):
    first, _ = vq_run
    out = tmp_path / "run"
    shutil.copytree(first, out)
    calls = {"resume": [], "steps": 0}
    real_train, real_step = Trainer.train, Trainer.training_step

    def train(self, *args, **kwargs):
        calls["resume"].append(kwargs.get("resume_from_checkpoint"))
        return real_train(self, *args, **kwargs)

    def training_step(self, *args, **kwargs):
        calls["steps"] += 1
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train", train)
    monkeypatch.setattr(Trainer, "training_step", training_step)
    summary = train_vq.cli(vq_argv(out, 9))
    assert calls["resume"] == [str(out / "checkpoint-6")]
    assert calls["steps"] == 3, "a resumed run only trains the remaining steps"
    assert summary["steps"] == 9
    state = _state(out / "checkpoint-9")
    assert state["global_step"] == 9 and state["max_steps"] == 9
    # The resumed history continues the first run's: its logs up to step 6 are carried over unchanged.
    before = _state(first / "checkpoint-6")["log_history"]
    assert before and state["log_history"][: len(before)] == before
    assert [h["step"] for h in state["log_history"] if "loss" in h] == [3, 6, 9]
    assert json.loads((out / "vq_summary.json").read_text())["steps"] == 9


def test_train_generator_on_the_vq_folder(train_generator, vq_run, tmp_path, monkeypatch):
    vq_dir, vq_summary = vq_run
    out = tmp_path / "gen"
    loaded: dict[str, list] = {}
    real_load = training_motion_vq.load_motions

    def load(clips, fps, progress=True, desc="loading clips"):
        loaded[desc.split()[0]] = list(clips)
        return real_load(clips, fps, progress=False, desc=desc)

    monkeypatch.setattr(training_motion_vq, "load_motions", load)
    summary = train_generator.cli([
        "--vq_model", str(vq_dir), "--max_clips", str(MAX_CLIPS), "--gpt_steps", "5", "--evaluator_steps", "5",
        "--gpt_width", "32", "--gpt_layers", "1", "--render_conditions", "1", "--output_dir", str(out),
    ])  # fmt: skip
    # The generator's clips are the tokenizer's: its held-out clips were never tokenizer training clips.
    vq_split = _vq_split(vq_summary)
    assert {c.clip_id for c in loaded["test"]} == {c.clip_id for c in vq_split["test"]}
    assert {c.clip_id for c in loaded["train"]} == {c.clip_id for c in vq_split["train"]}

    assert json.loads((out / "generator_summary.json").read_text()) == json.loads(json.dumps(summary))
    gen = summary["generation"]
    for name in ("conditioned", "unconditioned"):
        assert gen[name]["fid"] is not None and math.isfinite(gen[name]["fid"]) and gen[name]["fid"] >= 0, name
        assert gen[name]["num_samples"] == summary["clips"]["test"] >= 2
    assert summary["prediction"]["num_windows"] >= 1 and len(summary["prediction"]["model_mm"]) == 4
    assert len(summary["strips"]) == 1
    for strip in summary["strips"]:
        assert Path(strip).parent == out and Path(strip).read_bytes()[:8] == PNG_MAGIC
    md = (out / "generation.md").read_text()
    # The guidance scale is chosen on validation clips, never on the held-out ones.
    assert {c.clip_id for c in loaded["validation"]} <= {c.clip_id for c in vq_split["validation"]}
    # Every scale with each condition set (full header, and style alone), no guidance once; the choice is one of them.
    tried = {"guidance 1"} | {f"guidance {g} on {c}" for g in ("1.5", "2", "3") for c in ("action+style+duration", "style")}
    assert set(summary["guidance"]["validation"]) == tried
    chosen = guidance_name(summary["guidance"]["scale"], tuple(summary["guidance"]["conditions"]))
    assert chosen in tried and summary["guidance"]["real_validation"]["num_samples"] == summary["clips"]["validation"]
    for row in ("| real held-out (ceiling) |", f"| conditioned GPT ({chosen}) |", "| unconditioned GPT |", "| GPT over VQ codes |",
                "| zero-velocity |", "| constant-velocity |"):  # fmt: skip
        assert row in md

    contents = sorted({c.labels["content"] for c in loaded["train"]})
    for name in ("conditioned", "unconditioned"):
        gpt = AutoModelForCausalLM.from_pretrained(out / f"gpt-{name}")
        assert isinstance(gpt, MotionCodeGPTForCausalLM)
        c = gpt.config
        assert (c.codebook_size, c.tokens_per_step, c.n_embd, c.n_layer) == (K, L, 32, 1)
        assert c.action_labels == contents
        codes = generate_codes(gpt, action=contents[0], steps=3, seed=1)[0]
        assert codes.shape == (3, L) and codes.min() >= 0 and codes.max() < K
    assert (out / "evaluator" / "config.json").is_file()


def test_guidance_candidates_pair_every_scale_with_every_condition_set():
    full, style = ("action", "style", "duration"), ("style",)
    assert guidance_candidates("1,2", "action+style+duration,style") == [(1.0, full), (2.0, full), (2.0, style)]
    # Order inside a set does not matter, repeats collapse, and scale 1 is one candidate whatever is guided.
    assert guidance_candidates("1,1,3", "style+action,action+style") == [(1.0, full), (3.0, ("action", "style"))]
    for scales, conditions in (("1,x", "style"), ("-1", "style"), ("nan", "style"), ("2", "speed"), ("2", "style+style"), ("2", "")):
        with pytest.raises(GenerationBenchmarkError, match="guidance_"):
            guidance_candidates(scales, conditions)
    assert guidance_name(1.0, full) == "guidance 1" and guidance_name(2.5, style) == "guidance 2.5 on style"


def test_choose_guidance_minimises_the_worst_shortfall_from_real():
    real = {"content": 0.2, "style": 0.9}
    tried = {
        "sharp style": {"content": 0.05, "style": 0.85},  # worst shortfall 0.15 (content)
        "balanced": {"content": 0.15, "style": 0.6},  # 0.30 (style), though its mean is higher than...
        "plain": {"content": 0.1, "style": 0.5},
    }
    assert choose_guidance(tried, real) == "sharp style"
    # Equal worst shortfall (style, 0.1; b beating real on content does not lower it): the higher mean wins.
    tied = {"a": {"content": 0.1, "style": 0.8}, "b": {"content": 0.3, "style": 0.8}}
    assert choose_guidance(tied, real) == "b"


def test_train_generator_without_a_vq_folder_names_the_recipe_to_run(train_generator, tmp_path):
    with pytest.raises(SystemExit, match=r"train the tokenizer first \(python recipes/train_vq.py\)"):
        train_generator.cli(["--vq_model", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "gen")])
    assert not (tmp_path / "gen").exists()


@pytest.fixture(scope="module")
def train_text_motion():
    from hf_motion.scripts import train_text_motion

    return train_text_motion


def test_train_text_motion_on_the_vq_folder(train_text_motion, vq_run, tmp_path):
    from transformers import AutoModelForSeq2SeqLM

    from hf_motion.models.motion_t5 import TextMotionProcessor, text_to_motion

    vq_dir, _ = vq_run
    out = tmp_path / "t2m"
    argv = [
        "--vq_model", str(vq_dir), "--max_clips", str(MAX_CLIPS), "--pretrain_steps", "3", "--max_steps", "3",
        "--d_model", "32", "--d_ff", "32", "--num_layers", "1", "--num_heads", "2", "--text_vocab_size", "300",
        "--evaluator_steps", "3", "--r_precision_pool", "3", "--save_steps", "2", "--logging_steps", "1",
        "--per_device_train_batch_size", "4", "--eval_batch_size", "4", "--disable_tqdm", "true", "--output_dir", str(out),
    ]  # fmt: skip
    summary = train_text_motion.cli(argv)
    assert json.loads((out / "text_motion_summary.json").read_text()) == json.loads(json.dumps(summary, default=str))
    ev = summary["evaluation"]
    assert set(ev["text_to_motion"]) == {"real held-out (ceiling)", "random training clip, same content", "generated"}
    for row in ev["text_to_motion"].values():
        assert 0 <= row["r_precision_top1"] <= row["r_precision_top2"] <= row["r_precision_top3"] <= 1
    assert ev["text_to_motion"]["real held-out (ceiling)"]["fid"] == pytest.approx(0, abs=1e-6)
    for name in ("generated captions", "majority-class caption"):
        assert 0 <= ev["motion_to_text"][name]["content"] <= 1
    for table in (ev["prediction"], ev["inbetweening"]):
        for row in table.values():
            assert row["ade"] >= 0 and row["fde"] >= 0
    assert summary["reload_identical"] is True
    assert Path(summary["gif"]).read_bytes()[:3] == b"GIF"
    card = (out / "README.md").read_text()
    assert "library_name: transformers" in card and "| generated |" in card
    # Stages resume: a rerun loads the finished stages instead of training again.
    model = AutoModelForSeq2SeqLM.from_pretrained(out)
    processor = TextMotionProcessor.from_pretrained(out)
    motion = text_to_motion(model, processor, "a person bows", seconds=1.0, seed=0)
    assert motion.num_frames == processor.steps_for_seconds(1.0) * processor.motion_processor.downsample
    # The README's T5 snippet, as written, on this folder.
    code = _readme_snippet('AutoModelForSeq2SeqLM.from_pretrained("runs/text-motion")')
    scope: dict = {}
    exec(compile(code.replace('"runs/text-motion"', repr(str(out))), "README.md", "exec"), scope)
    assert scope["motion"].num_frames > 0 and isinstance(scope["caption"], str)
    again = train_text_motion.cli(argv)
    assert again["minutes"]["stage1-pretrain"] < summary["minutes"]["stage1-pretrain"] + 1
