"""Tokenizer throughput on real Bandai data: array path vs text path (one core).

    python bench/tokenizer.py [--clips N]

Prints values/s for array->ids (``encode_motion``) and ids->array (``decode_motion``), the same
data through the text path (``motion_to_text`` then ``tokenizer(text)``), and the ratio.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says

import argparse
import time

from _data import bandai1_windows, quiet


def best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=None, help="number of dataset-1 clips (default all)")
    ap.add_argument("--text-clips", type=int, default=20, help="clips for the (slow) text path")
    args = ap.parse_args()
    quiet()
    import torch

    torch.set_num_threads(1)
    from hf_motion import MotionTokenizer

    data = [(a, p) for a, p, _ in bandai1_windows(args.clips)]
    n_values = sum(a.size + p.size for a, p in data)
    n_frames = sum(len(a) for a, _ in data)
    print(f"data: {len(data)} Bandai dataset-1 clips, {n_frames} frames, 17 joints, {n_values / 1e6:.2f} M values")
    print(f"{'scheme':<22}{'encode M values/s':>18}{'decode M values/s':>18}{'text M values/s':>16}{'array/text':>12}")
    for name, tok in (("m5 (256 bins)", MotionTokenizer.m5(256)), ("coarse/fine (64x64)", MotionTokenizer.coarse_fine(64))):
        ids = [tok.encode_motion(a, p, task="$") for a, p in data]
        t_enc = best_of(lambda: [tok.encode_motion(a, p, task="$") for a, p in data])
        t_dec = best_of(lambda: [tok.decode_motion(i) for i in ids])
        sub = data[: args.text_clips]
        sub_values = sum(a.size + p.size for a, p in sub)
        t_text = best_of(lambda: [tok(tok.motion_to_text(a, p, task="$"))["input_ids"] for a, p in sub], repeat=1)
        assert tok(tok.motion_to_text(*sub[0], task="$"))["input_ids"] == ids[0].tolist()
        enc, dec, text = n_values / t_enc / 1e6, n_values / t_dec / 1e6, sub_values / t_text / 1e6
        print(f"{name:<22}{enc:>18.1f}{dec:>18.1f}{text:>16.2f}{enc / text:>11.0f}x")


if __name__ == "__main__":
    main()
