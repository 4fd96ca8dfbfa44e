"""Training and generation throughput of the M5 presets on real Bandai data.

    python bench/train_throughput.py                          # CPU, one thread, tiny and m5-1m
    python bench/train_throughput.py --device cuda --batch-size 16 --context-length 2560 --bf16

Training: a plain loop (AdamW, forward, backward, step) over packed rows of real Bandai dataset-1
windows built by the dataset builder with pretrain.py's defaults (10 fps, bandai-core, 24-frame
windows, the four tasks); prints tokens/s (best of ``--repeat`` timings of ``--steps`` steps).

Generation: ``model.generate`` (greedy, KV cache) continuing 2 s of real angle text by
``--frames`` frames, with :class:`hf_motion.MotionLogitsProcessor` and without it, timed
alternately in the same run; prints frames/s for both and the processor's cost (target: at most
15%). Both runs generate exactly the same number of tokens (``min_new_tokens = max_new_tokens``).

Models are freshly initialised (speed does not depend on the weights). One torch thread unless
``--threads`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def best_of(fn, repeat: int, sync) -> float:
    best = float("inf")
    for _ in range(repeat):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


class TimedProcessor:
    """Wraps a logits processor and adds up the time spent inside it (a direct measurement that
    machine-load noise between two whole ``generate`` runs does not blur)."""

    def __init__(self, inner, sync):
        self.inner, self.sync, self.seconds = inner, sync, 0.0

    def __call__(self, input_ids, scores):
        self.sync()
        t = time.perf_counter()
        out = self.inner(input_ids, scores)
        self.sync()
        self.seconds += time.perf_counter() - t
        return out


def packed_rows(tokenizer, clips: int, context_length: int, cache_dir):
    """Packed training rows (``(rows, context_length)`` int64) from the first ``clips`` dataset-1 clips."""
    import numpy as np

    from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig, as_collection

    config = MotionDatasetConfig(window=24, stride=12, fps=10, joints="bandai-core", context_length=context_length, seed=42)
    collection = as_collection(["bandai-namco:dataset-1"])[:clips]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # position clipping counts; not relevant for speed
        build = MotionDatasetBuilder(config, tokenizer).build(collection, num_proc=1, cache_dir=cache_dir, progress=False)
    rows = np.asarray(build.dataset["train"]["input_ids"], dtype=np.int64)
    if len(rows) == 0:
        sys.exit(f"{clips} clips give no packed row of {context_length} tokens; use more --clips")
    return rows


def prompts(tokenizer, n: int, context_frames: int):
    """``n`` prompts of ``context_frames`` real angle frames (ACM ``>`` text, no ``<eos>``), same length."""
    import numpy as np

    import hf_motion
    from hf_motion.datasets import as_collection

    out = []
    for clip in as_collection(["bandai-namco:dataset-1"]):
        m = hf_motion.resample_motion(clip.load(), 10.0).select_joints("bandai-core")
        if m.num_frames >= context_frames:
            out.append(tokenizer.encode_motion(angles=m.rotations[:context_frames], task=">")[:-1])
        if len(out) == n:
            break
    return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "m5-1m"], help="model presets")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    ap.add_argument("--batch-size", type=int, default=4, help="training rows per step")
    ap.add_argument("--context-length", type=int, default=1024, help="tokens per packed training row")
    ap.add_argument("--steps", type=int, default=2, help="training steps per timing")
    ap.add_argument("--repeat", type=int, default=5, help="timings per measurement (the best is reported)")
    ap.add_argument("--clips", type=int, default=40, help="dataset-1 clips to pack rows from")
    ap.add_argument("--gen-batch", type=int, default=8, help="prompts per generate call")
    ap.add_argument("--frames", type=int, default=4, help="frames to generate per prompt (4 = 400 ms at 10 fps)")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    ap.add_argument("--cache-dir", default=None, help="dataset cache (default ~/.cache/hf_motion)")
    args = ap.parse_args()

    import torch
    from transformers import AutoTokenizer, LogitsProcessorList

    import hf_motion
    from hf_motion.modeling import MotionGPT2ForCausalLM, count_parameters, motion_gpt2_config

    torch.set_num_threads(args.threads or 1)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda but no CUDA device is available")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)

    tok = AutoTokenizer.from_pretrained(REPO / "tokenizer_configs" / "m5-motion")
    rows = packed_rows(tok, args.clips, args.context_length, args.cache_dir)
    prompt = torch.as_tensor(prompts(tok, args.gen_batch, 20))
    J = 17
    width = J * tok.values_per_joint + 1
    new_tokens = args.frames * width
    n_positions = max(args.context_length, prompt.shape[1] + new_tokens)
    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"device: {dev_name}; torch {torch.__version__}; hf_motion {hf_motion.__version__}")
    print(
        f"training: {len(rows)} packed rows of {args.context_length} real Bandai tokens, batch {args.batch_size}, "
        f"best of {args.repeat} x {args.steps} steps" + (", bf16" if args.bf16 else "")
    )
    print(
        f"generation: {args.gen_batch} prompts of 20 real frames ({prompt.shape[1]} tokens), {args.frames} new frames "
        f"({new_tokens} tokens) each, greedy with KV cache, best of {args.repeat}"
    )
    header = (
        f"{'preset':<9}{'params':>10}{'train tok/s':>13}{'free frames/s':>15}{'constrained frames/s':>22}"
        f"{'slowdown':>10}{'in processor':>14}"
    )
    print(header)
    for preset in args.presets:
        torch.manual_seed(0)
        config = motion_gpt2_config(preset, tok, n_positions=n_positions)
        model = MotionGPT2ForCausalLM(config).to(device)
        n_params = count_parameters(model)

        # -------- training
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(0)

        def train_steps():
            for _ in range(args.steps):
                idx = torch.randint(len(rows), (args.batch_size,), generator=gen)
                batch = torch.as_tensor(rows[idx.numpy()]).to(device)
                with autocast:
                    loss = model(input_ids=batch, labels=batch).loss
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)

        train_steps()  # warm-up (allocations, kernels)
        t_train = best_of(train_steps, args.repeat, sync)
        train_tps = args.steps * args.batch_size * args.context_length / t_train

        # -------- generation
        model.eval()
        ids = prompt.to(device)
        mask = torch.ones_like(ids)
        kwargs = dict(attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)  # fmt: skip

        def free():
            with torch.no_grad(), autocast:
                model.generate(ids, **kwargs)

        timed = []

        def constrained():
            proc = TimedProcessor(hf_motion.MotionLogitsProcessor(tok), sync)
            with torch.no_grad(), autocast:
                out = model.generate(ids, logits_processor=LogitsProcessorList([proc]), **kwargs)
            timed.append(proc.seconds)
            return out

        out = constrained()  # warm-up, and proof that the constrained output decodes
        for row in out.cpu().numpy():
            tok.decode_motion(row, strict=True)
        free()
        t_free, t_con = float("inf"), float("inf")
        for _ in range(args.repeat):  # alternate, so drift in machine load hits both alike
            t_free = min(t_free, best_of(free, 1, sync))
            t_con = min(t_con, best_of(constrained, 1, sync))
        frames = args.gen_batch * args.frames
        slowdown = t_con / t_free - 1
        in_processor = min(timed[1:]) / t_free  # time inside the processor per unconstrained run time
        print(
            f"{preset:<9}{n_params:>10,}{train_tps:>13,.0f}{frames / t_free:>15.1f}{frames / t_con:>22.1f}"
            f"{100 * slowdown:>9.1f}%{100 * in_processor:>13.1f}%"
        )
        model = opt = None  # free this preset's memory before the next is built
    print(
        "slowdown = constrained / unconstrained generate time - 1 (best of each; target: at most 15%);\n"
        "in processor = time inside MotionLogitsProcessor / unconstrained generate time (the same cost, measured directly)"
    )


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
