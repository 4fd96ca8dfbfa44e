"""Bench: how well a clip's content label can be read from its pose features and from its VQ codes.

    python bench/content_recognition.py [--vq-model runs/vq] [--max-steps 32]

On the learned tokenizer's own group split (``vq_summary.json``: both Bandai sets by default, held-out
groups are content-style sessions never seen in training), a class-balanced logistic regression
(standardised, C = 0.1) is fitted on the training clips and scored on the test clips, with:

* **pose features**: per clip, the mean and std over frames of ``PoseFeatureLayout`` features
  (what the text-motion evaluator and the VQ-VAE read);
* **bag of codes**: per clip, how often each code of each residual layer occurs in its first
  ``--max-steps`` code steps (what a text model sees, without order);
* the **majority class** of the training clips.

It measures what the motion-to-text target (content word on more than half of held-out clips)
asks for, without any language model: whether the labels are recoverable from the input at all.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import quiet


def _accuracy(x_train, y_train, x_test, y_test) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced"))
    clf.fit(x_train, y_train)
    return float(np.mean(clf.predict(x_test) == y_test))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vq-model", default="runs/vq", help="folder saved by recipes/train_vq.py")
    p.add_argument("--max-steps", type=int, default=32, help="code steps per clip (train_text_motion's max_steps_per_clip)")
    args = p.parse_args(argv)
    quiet()
    from hf_motion.evaluation.code_prediction import encode_clips
    from hf_motion.models.motion_vq.training_motion_vq import load_motions, load_tokenizer_run

    t0 = time.perf_counter()
    try:
        vq, processor, summary, split = load_tokenizer_run(args.vq_model)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    K, L = vq.config.codebook_size, vq.config.tokens_per_step
    stats, bags, labels = {}, {}, {}
    for part in ("train", "test"):
        motions = load_motions(split[part], processor.fps, progress=False)
        feats, codes = encode_clips(vq, processor, motions)
        stats[part] = np.stack([np.concatenate([f.mean(axis=0), f.std(axis=0)]) for f in feats])
        rows = []
        for c in codes:
            c = np.asarray(c)[: args.max_steps]
            rows.append(np.concatenate([np.bincount(c[:, layer], minlength=K) for layer in range(L)]) / len(c))
        bags[part] = np.stack(rows)
        labels[part] = np.array([clip.labels.get("content", "") for clip in split[part]])
    majority = Counter(labels["train"]).most_common(1)[0][0]
    print(f"content on {len(labels['test'])} held-out clips ({len(set(labels['test']))} contents), "
          f"{len(labels['train'])} training clips; {args.vq_model}, {processor.fps:g} fps")  # fmt: skip
    print("| input | content accuracy |\n|---|---:|")
    print(f"| pose-feature statistics (mean, std) | {_accuracy(stats['train'], labels['train'], stats['test'], labels['test']):.3f} |")
    print(f"| bag of codes ({L} layers x {K}) | {_accuracy(bags['train'], labels['train'], bags['test'], labels['test']):.3f} |")
    print(f"| majority class ({majority}) | {np.mean(labels['test'] == majority):.3f} |")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
