"""``hf-motion build-dataset``: motion folders -> tokenized multi-task Arrow dataset on disk.

Example::

    hf-motion build-dataset bandai-namco --out data/bandai-m5 --context-length 1024
    hf-motion build-dataset /data/cmu-bvh --out data/cmu-m5 --fps 10   # joints 'auto': found by name
    hf-motion build-dataset /data/AMASS --pattern '**/*_poses.npz' --group-by parent \\
        --body-model /models/smplh --joints smpl-body --fps 30 --out data/amass-m5

The output folder loads with ``datasets.load_from_disk(DIR)``; it also holds the tokenizer used
(``DIR/tokenizer``) and ``DIR/build_info.json`` (config and statistics).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def _optional_int(text: str) -> int | None:
    if text.lower() in ("none", "0", ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'none', got {text!r}") from None


def _optional_float(text: str) -> float | None:
    if text.lower() in ("none", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


def _joints(text: str) -> str | list[str] | None:
    """``all`` -> None (every joint), ``auto``, ``a,b,c`` -> a list, else a registered subset name."""
    from ..skeletons import parse_joints_option

    try:
        return parse_joints_option(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SRC",
        help="folders of motion files, single files, or named sources: 'bandai-namco' (or 'bandai-namco:dataset-1')",
    )
    parser.add_argument("--out", required=True, help="output folder (written atomically; must not exist unless --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip (and report by name) files that cannot be read; a joint-subset mismatch or mixed skeletons are never skipped",
    )
    parser.add_argument("--config", help="YAML file of MotionDatasetConfig options; the flags below override it")
    parser.add_argument("--window", type=int, help="frames per example (default 30: one second at 30 fps)")
    parser.add_argument("--stride", type=int, help="frames between window starts (default: the window)")
    parser.add_argument(
        "--fps", type=_optional_float, default=argparse.SUPPRESS, help="resample to this rate ('none' keeps each clip's; default 30)"
    )
    parser.add_argument("--joints", type=_joints, default=argparse.SUPPRESS,
                        help="'auto' (default: each file's core body joints - pelvis, spine, chest, neck, head, "
                             "arms, legs - found by name in Bandai-Namco, CMU, Mixamo, SMPL, ... skeletons; "
                             "bandai-core on Bandai-Namco), 'all' (every joint; every file must share one "
                             "skeleton), a registered subset name (bandai-core, smpl-body, ...) or "
                             "comma-separated joint names")  # fmt: skip
    parser.add_argument("--context-length", type=_optional_int, default=argparse.SUPPRESS,
                        help="pack examples into rows of this many tokens ('none': one example per row, the default)")  # fmt: skip
    parser.add_argument("--canonicalize", choices=["mean", "first", "none"],
                        help="per window, subtract the root's horizontal position: window mean (default), first frame, or none")  # fmt: skip
    parser.add_argument("--tasks", help="task proportions, e.g. acm=0.25,pcm=0.25,fk=0.25,ik=0.25")
    parser.add_argument("--splits", help="split fractions by group, e.g. train=0.8,validation=0.1,test=0.1")
    parser.add_argument("--seed", type=int, help="seed for task draws, splits and shuffling (default 0)")
    parser.add_argument("--num-proc", type=int, help="worker processes (default: CPU count, at most 8)")
    parser.add_argument("--tokenizer", help="a saved MotionTokenizer folder or Hub repo id (default: M5's 256-bin tokenizer)")
    parser.add_argument("--pattern", action="append",
                        help="glob pattern under each folder (repeatable; default '**/*.bvh'; AMASS: '**/*_poses.npz')")  # fmt: skip
    parser.add_argument("--group-by", default="clip",
                        help="split key for folders: clip (default), parent (the file's folder, e.g. AMASS subject) or a label name")  # fmt: skip
    parser.add_argument("--body-model", help="SMPL model folder for AMASS .npz files (needed for positions)")
    parser.add_argument("--cache-dir", help="also keep an Arrow cache here, reused by later identical builds")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _config(args: argparse.Namespace):
    """YAML options (if any) overridden by the flags that were given."""
    import yaml

    from .builder import MotionDatasetConfig

    base = {}
    if args.config:
        MotionDatasetConfig.from_yaml(args.config)  # validates, naming the file
        base = dict(yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {})
    for key in ("window", "stride", "tasks", "splits", "seed", "canonicalize"):
        value = getattr(args, key)
        if value is not None:
            base[key] = value
    for key in ("fps", "joints", "context_length"):
        if hasattr(args, key):
            base[key] = getattr(args, key)
    return MotionDatasetConfig.from_dict(base)


def _tokenizer(name: str | None, cls):
    """The ``--tokenizer`` folder or repo (errors name it); M5's 256-bin tokenizer when not given."""
    if name is None:
        return cls.m5(256)
    if not name.strip():
        raise ValueError("--tokenizer is empty; pass a saved MotionTokenizer folder or leave the flag out")
    from ..resources import resolve_tokenizer

    try:
        return cls.from_pretrained(resolve_tokenizer(name))
    except OSError as e:
        raise OSError(f"--tokenizer {name}: {e}") from None
    except ValueError as e:
        raise ValueError(f"--tokenizer {name}: {e}") from None


def run(args: argparse.Namespace) -> int:
    from ..fileio import atomic_directory, atomic_write_text
    from ..tokenization.tokenizer import MotionTokenizer
    from .builder import MotionDatasetBuilder, as_collection
    from .folders import MotionDatasetError

    prog = "hf-motion build-dataset"
    out = Path(args.out).expanduser()
    if out.exists() and not args.overwrite:
        print(f"{prog}: error: {out} already exists (pass --overwrite to replace it)", file=sys.stderr)
        return 2
    try:
        config = _config(args)
        tokenizer = _tokenizer(args.tokenizer, MotionTokenizer)
        reader_kwargs = {".npz": {"body_model": args.body_model}} if args.body_model else None
        collection = as_collection(
            args.sources,
            pattern=args.pattern or "**/*.bvh",
            group_by=args.group_by,
            reader_kwargs=reader_kwargs,
            on_error="skip" if args.skip_bad else "raise",
        )
        builder = MotionDatasetBuilder(config, tokenizer)
        build = builder.build(
            collection,
            num_proc=args.num_proc,
            cache_dir=args.cache_dir if args.cache_dir else False,
            skip_bad=args.skip_bad,
            progress=not args.quiet,
        )
        with atomic_directory(out, overwrite=args.overwrite) as tmp:
            # An empty split saved with 0 shards cannot be loaded back (IndexError in datasets): give it one.
            build.dataset.save_to_disk(str(tmp), num_shards={s: 1 for s in build.dataset if len(build.dataset[s]) == 0})
            tokenizer.save_pretrained(str(tmp / "tokenizer"))
            atomic_write_text(tmp / "build_info.json", json.dumps(builder.build_info(build.stats), indent=1, default=str))
    except (MotionDatasetError, ValueError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    print(build.stats.summary())
    print(f"saved to {out} in {build.stats.seconds:.1f} s; load it with datasets.load_from_disk({str(out)!r})")
    return 0
