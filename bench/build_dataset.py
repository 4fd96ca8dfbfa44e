"""Benchmark: the full Bandai-Namco corpus (both sets, ~417K frames) -> tokenized multi-task Arrow.

Prints wall time, frames/s, tokens/s and peak memory of the builder (vectorised, ``num_proc``
workers, Arrow written atomically), and compares it with a straightforward per-clip Python loop
(load each clip, tokenize window by window into Python lists, ``Dataset.from_dict``) measured in
the same run on a subset of clips and extrapolated by frame count.

    python bench/build_dataset.py [--num-proc N] [--baseline-fraction 0.05] [--context-length 1024]

dataset-2 is unpacked once into the cache (``~/.cache/hf_motion/bandai-namco-motion``) if needed;
that one-off step is timed separately and not counted in the build time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def baseline_loop(clips, tokenizer, config, text: bool = False) -> tuple[float, int, int]:
    """The straightforward way: per clip, per window, encode and append Python lists.

    ``text=False`` encodes each window with ``encode_motion``; ``text=True`` goes through the M5
    string and the tokenizer's ``__call__`` (what a ``transformers`` user would write first).
    """
    import datasets

    from hf_motion.kinematics import canonicalize_positions

    token = {"acm": ">", "pcm": ">", "fk": "$", "ik": "&"}
    names = list(config.tasks)
    probs = [config.tasks[n] for n in names]
    rng = np.random.default_rng(config.seed)
    t0 = time.perf_counter()
    rows = {"input_ids": [], "task": [], "clip": [], "start_frame": []}
    frames = 0
    for clip in clips:
        motion = clip.load().select_joints(config.joints)
        positions = motion.positions()
        frames += motion.num_frames
        W = config.window
        for s in range(0, motion.num_frames - W + 1, config.stride):
            task = names[rng.choice(len(names), p=probs)]
            a = motion.rotations[s : s + W] if task != "pcm" else None
            p = canonicalize_positions(positions[s : s + W], motion.skeleton.up_axis) if task != "acm" else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                if text:
                    ids = tokenizer(tokenizer.motion_to_text(angles=a, positions=p, task=token[task]))["input_ids"]
                else:
                    ids = tokenizer.encode_motion(angles=a, positions=p, task=token[task]).tolist()
            rows["input_ids"].append(ids)
            rows["task"].append(task)
            rows["clip"].append(clip.clip_id)
            rows["start_frame"].append(s)
    ds = datasets.Dataset.from_dict(rows)
    tokens = sum(len(x) for x in rows["input_ids"])
    assert len(ds) == len(rows["task"])
    return time.perf_counter() - t0, frames, tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-proc", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-fraction", type=float, default=0.05, help="share of clips the baseline loop runs on")
    parser.add_argument("--context-length", type=int, default=1024)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--subsets", default="dataset-1,dataset-2")
    parser.add_argument("--root", help="Bandai-Namco data folder (default: see hf_motion.datasets.find_bandai_root)")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    from hf_motion import MotionTokenizer
    from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig, bandai_namco

    datasets.disable_progress_bars()
    t = time.perf_counter()
    collection = bandai_namco(args.root, subsets=args.subsets.split(","), progress=False)
    print(f"corpus: {len(collection)} clips ({args.subsets}); listing/unpacking took {time.perf_counter() - t:.1f} s")

    tokenizer = MotionTokenizer()
    config = MotionDatasetConfig(window=args.window, context_length=args.context_length)
    print(f"config: window {config.window}, stride {config.stride}, fps {config.fps:g}, joints {config.joints}, "
          f"tasks {config.tasks}, context {config.context_length}, num_proc {args.num_proc}")  # fmt: skip

    cache = Path(tempfile.mkdtemp(prefix="hf_motion_bench_"))
    try:
        t0 = time.perf_counter()
        build = MotionDatasetBuilder(config, tokenizer).build(
            collection, num_proc=args.num_proc, cache_dir=cache, progress=sys.stderr.isatty()
        )
        wall = time.perf_counter() - t0
        st = build.stats
        arrow_mib = sum(f.stat().st_size for f in build.cache_path.rglob("*.arrow")) / 2**20
        print("\n== builder (vectorised, Arrow written atomically) ==")
        print(st.summary())
        print(f"wall time      : {wall:.1f} s")
        print(f"frames/s       : {st.frames / wall:,.0f}")
        print(f"tokens/s       : {st.tokens / wall:,.0f}")
        print(f"Arrow on disk  : {arrow_mib:,.0f} MiB")
        print(f"peak RSS       : {_peak_rss_mib(resource.RUSAGE_SELF):,.0f} MiB (main process), "
              f"{_peak_rss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB (largest worker)")  # fmt: skip
        assert datasets.load_from_disk(str(build.cache_path))["train"].num_rows == st.split_rows["train"]

        # Baseline on every k-th clip (a spread of contents and both sets), extrapolated by frames.
        k = max(1, round(1 / args.baseline_fraction))
        subset = collection[::k]
        base_time, base_frames, base_tokens = baseline_loop(subset, tokenizer, config)
        base_fps = base_frames / base_time
        extrapolated = st.frames / base_fps
        text_time, _, text_tokens = baseline_loop(subset, tokenizer, config, text=True)
        assert text_tokens == base_tokens  # the two paths give the same ids
        text_extrapolated = st.frames / (base_frames / text_time)
        # The builder on that same subset in one process: the gain from vectorisation alone.
        t1 = time.perf_counter()
        same = MotionDatasetBuilder(config, tokenizer).build(subset, num_proc=1, cache_dir=False, progress=False)
        same_time = time.perf_counter() - t1
        print("\n== baseline: per-clip Python loop, window by window into lists ==")
        print(f"measured on {len(subset)} clips (every {k}th, {base_frames:,} frames, {base_tokens:,} tokens): "
              f"{base_time:.1f} s = {base_fps:,.0f} frames/s")  # fmt: skip
        print(f"extrapolated to the full corpus ({st.frames:,} frames): {extrapolated:.0f} s")
        print(f"same loop through the M5 text and tokenizer(text): {text_time:.1f} s on the subset, "
              f"{text_extrapolated:.0f} s extrapolated")  # fmt: skip
        print(f"builder, same {len(subset)} clips, 1 process: {same_time:.1f} s "
              f"({same.stats.frames / same_time:,.0f} frames/s) -> {base_time / same_time:.1f}x the array loop, "
              f"{text_time / same_time:.1f}x the text loop")  # fmt: skip
        print(f"builder, full corpus, {args.num_proc} processes: {wall:.1f} s -> {extrapolated / wall:.1f}x the "
              f"extrapolated array loop, {text_extrapolated / wall:.1f}x the extrapolated text loop")  # fmt: skip
        # Where one process spends its time on that subset (the shared steps bound any speed-up).
        t_load = t_select = t_fk = 0.0
        for clip in subset:
            t2 = time.perf_counter()
            motion = clip.load()
            t3 = time.perf_counter()
            reduced = motion.select_joints(config.joints)
            t4 = time.perf_counter()
            reduced.positions()
            t_load, t_select, t_fk = t_load + t3 - t2, t_select + t4 - t3, t_fk + time.perf_counter() - t4
        rest = max(same_time - t_load - t_select - t_fk, 0.0)
        print(f"builder time on the subset: load BVH {100 * t_load / same_time:.0f}%, select_joints "
              f"{100 * t_select / same_time:.0f}%, FK {100 * t_fk / same_time:.0f}%, windows + tokens + Arrow "
              f"{100 * rest / same_time:.0f}%")  # fmt: skip
        print(f"target (< 180 s for the full corpus): {'met' if wall < 180 else 'NOT met'}")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
