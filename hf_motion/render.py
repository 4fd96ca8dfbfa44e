"""Draw motion as a 3D stick figure: an animated GIF and a PNG strip of frames (matplotlib, Agg).

``hf-motion render INPUT`` draws a BVH file, or token ids decoded with a motion tokenizer, so a
person can check by eye that a round trip (motion -> tokens -> motion) still looks right::

    hf-motion render walk.bvh --joints bandai-core --frames 90 --out walk
    hf-motion render tokens.json --tokenizer tokenizer_configs/m5-motion \\
        --reference walk.bvh --joints bandai-core --out tokens

Only matplotlib's object API is used (no ``pyplot``), so importing this module never changes the
user's matplotlib backend.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np

from .fileio import atomic_file, atomic_write_bytes
from .io.bvh import load_bvh
from .motion import Motion, MotionError

__all__ = ["render_positions", "render_motion", "render_side_by_side", "RenderResult", "add_arguments", "run"]

_AXES = "xyz"
# Colours: left side, right side, centre line (colour-blind-safe blue / orange / grey).
_SIDE_COLOURS = {1: "#1f77b4", -1: "#ff7f0e", 0: "#444444"}
# Side from a joint name: "left_hip", "Shoulder_L", "LeftArm" (any case), or CMU's "LHipJoint" /
# "RThumb" (a capital L/R before another capital: case-sensitive, so "LowerBack" stays centre).
_SIDE_PATTERNS = {
    1: (re.compile(r"(^|[_.\s-])(l|left)([_.\s-]|$)|^left", re.IGNORECASE), re.compile(r"^L(?=[A-Z])")),
    -1: (re.compile(r"(^|[_.\s-])(r|right)([_.\s-]|$)|^right", re.IGNORECASE), re.compile(r"^R(?=[A-Z])")),
}
TOKEN_SUFFIXES = (".txt", ".json", ".npy")


@dataclass
class RenderResult:
    """What :func:`render_positions` wrote.

    Attributes:
        gif: path of the animated GIF, or None.
        png: path of the PNG strip, or None.
        gif_frames: indices (into the input frames) drawn in the GIF.
        strip_frames: indices drawn in the PNG strip, left to right.
    """

    gif: Path | None = None
    png: Path | None = None
    gif_frames: list[int] = field(default_factory=list)
    strip_frames: list[int] = field(default_factory=list)


def _joint_side(name: str) -> int:
    """+1 for a left joint, -1 for a right one, 0 otherwise (from common naming conventions)."""
    for side, patterns in _SIDE_PATTERNS.items():
        if any(p.search(name) for p in patterns):
            return side
    return 0


def _check_inputs(positions: np.ndarray, parents, joint_names, up_axis: str, fps: float, n_strip: int):
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[-1] != 3 or positions.shape[0] == 0 or positions.shape[1] == 0:
        raise MotionError(f"positions must have shape (T, J, 3) with T, J >= 1, got {positions.shape}")
    T, J, _ = positions.shape
    if not np.all(np.isfinite(positions)):
        t, j = (int(i) for i in np.argwhere(~np.isfinite(positions))[0][:2])
        name = f" ({joint_names[j]!r})" if joint_names is not None else ""
        raise MotionError(f"positions has a non-finite value at frame {t}, joint {j}{name}")
    if parents is not None:
        parents = [int(p) for p in parents]
        if len(parents) != J:
            raise MotionError(f"parents has {len(parents)} entries but the positions have {J} joints")
        bad = [j for j, p in enumerate(parents) if not (-1 <= p < J) or p == j]
        if bad:
            raise MotionError(f"joint {bad[0]} has an invalid parent {parents[bad[0]]} (expected -1 or 0..{J - 1})")
    if joint_names is not None and len(joint_names) != J:
        raise MotionError(f"joint_names has {len(joint_names)} entries but the positions have {J} joints")
    if up_axis not in _AXES:
        raise ValueError(f"up_axis must be 'x', 'y' or 'z', got {up_axis!r}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if n_strip < 1:
        raise ValueError(f"n_strip must be at least 1, got {n_strip}")
    return positions, parents


class _Scene:
    """Shared geometry for every drawn frame: view box size, floor height, colours."""

    def __init__(self, positions: np.ndarray, parents, joint_names, up_axis: str):
        self.positions = positions
        self.parents = parents
        self.up = _AXES.index(up_axis)
        self.up_axis = up_axis
        self.horizontal = [a for a in range(3) if a != self.up]
        sides = [_joint_side(n) for n in joint_names] if joint_names is not None else [0] * positions.shape[1]
        self.joint_colours = [_SIDE_COLOURS[s] for s in sides]
        self.bones = [(p, j) for j, p in enumerate(parents) if p >= 0] if parents is not None else []
        self.bone_colours = [_SIDE_COLOURS[sides[j]] for _, j in self.bones]
        # The camera follows joint 0 horizontally; the box is wide enough for the whole clip's
        # pose, tall enough for its height, and equal on all three axes.
        self.centres = positions[:, 0, :]
        spread = positions[..., self.horizontal] - self.centres[:, None, self.horizontal]
        half_width = max(float(np.abs(spread).max()) + 0.15, 0.5)
        self.floor = float(positions[..., self.up].min())
        height = float(positions[..., self.up].max()) - self.floor
        self.size = max(2 * half_width, height + 0.2)
        self.trail = positions[:, 0, :].copy()
        self.trail[:, self.up] = self.floor

    def limits(self, t: int) -> list[tuple[float, float]]:
        lim = [(0.0, 0.0)] * 3
        for a in self.horizontal:
            c = float(self.centres[t, a])
            lim[a] = (c - self.size / 2, c + self.size / 2)
        lo = self.floor - 0.05
        lim[self.up] = (lo, lo + self.size)
        return lim

    def draw(self, ax, t: int, title: str | None = None, elev: float = 12.0, azim: float = -60.0) -> None:
        ax.cla()
        ax.set_axis_off()
        ax.view_init(elev=elev, azim=azim, vertical_axis=self.up_axis)
        lim = self.limits(t)
        ax.set_xlim(*lim[0])
        ax.set_ylim(*lim[1])
        ax.set_zlim(*lim[2])
        ax.set_box_aspect((1, 1, 1), zoom=1.45)  # the default leaves a wide empty margin
        self._draw_floor(ax, lim)
        pos = self.positions[t]
        trail = self.trail
        ax.plot(*(trail[: t + 1, a] for a in range(3)), color="#999999", lw=1.0)
        for (p, j), colour in zip(self.bones, self.bone_colours):
            ax.plot(*([pos[p, a], pos[j, a]] for a in range(3)), color=colour, lw=2.5, solid_capstyle="round")
        ax.scatter(*(pos[:, a] for a in range(3)), c=self.joint_colours, s=10 if self.bones else 18, depthshade=False)
        if title:
            ax.set_title(title, fontsize=9, pad=0)

    def _draw_floor(self, ax, lim) -> None:
        """A floor grid fixed in world coordinates (0.5 m squares), so travel shows as the grid slides by."""
        a, b = self.horizontal
        step = 0.5 if self.size < 4 else 1.0
        for axis, other in ((a, b), (b, a)):
            lo, hi = lim[axis]
            for v in np.arange(math.ceil(lo / step) * step, hi, step):
                pts = np.zeros((2, 3))
                pts[:, axis] = v
                pts[:, other] = lim[other]
                pts[:, self.up] = self.floor
                ax.plot(pts[:, 0], pts[:, 1], pts[:, 2], color="#cccccc", lw=0.6)


def _subsample(T: int, max_frames: int) -> list[int]:
    step = max(1, math.ceil(T / max_frames))
    return list(range(0, T, step))


def render_positions(
    positions: np.ndarray,
    parents: Sequence[int] | None = None,
    gif_path: str | os.PathLike | None = None,
    png_path: str | os.PathLike | None = None,
    fps: float = 30,
    up_axis: str = "y",
    title: str | None = None,
    n_strip: int = 8,
    joint_names: Sequence[str] | None = None,
    max_gif_frames: int = 60,
    gif_size: float = 3.6,
    panel_size: tuple[float, float] = (2.0, 3.0),
    dpi: int = 100,
    progress: bool = False,
    first_frame: int = 0,
) -> RenderResult:
    """Draw global joint positions as a 3D stick figure.

    Args:
        positions: ``(T, J, 3)`` global joint positions in metres.
        parents: parent index per joint (``-1`` for a root); bones are drawn from each joint to its
            parent. ``None`` draws the joints as points only.
        gif_path: where to write an animated GIF (``None``: no GIF). Long clips are subsampled to at
            most ``max_gif_frames`` frames, and the GIF plays at the clip's real speed.
        png_path: where to write a PNG strip of ``n_strip`` evenly spaced frames side by side
            (``None``: no strip). Each panel is ``panel_size`` inches (width, height) at ``dpi``.
        fps: frame rate of ``positions``.
        up_axis: the world's vertical axis (``"y"`` for BVH, ``"z"`` for AMASS/SMPL).
        title: drawn above the figure.
        joint_names: if given, left-side bones are drawn blue and right-side bones orange.
        gif_size: width and height of the GIF in inches (at ``dpi``).
        progress: show a progress bar over the GIF frames.
        first_frame: added to the frame numbers in the labels (when ``positions`` is a window of
            a longer clip); the returned indices are not shifted.

    Returns:
        A :class:`RenderResult` with the written paths and the frames drawn.

    The camera follows joint 0 horizontally, all three axes have the same scale, and a grid marks
    the floor (the lowest point of the clip); joint 0's path is drawn on the floor.
    """
    from matplotlib.animation import PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from tqdm.auto import tqdm

    if gif_path is None and png_path is None:
        raise ValueError("render_positions needs gif_path, png_path or both")
    positions, parents = _check_inputs(positions, parents, joint_names, up_axis, fps, n_strip)
    if max_gif_frames < 1:
        raise ValueError(f"max_gif_frames must be at least 1, got {max_gif_frames}")
    T = positions.shape[0]
    scene = _Scene(positions, parents, joint_names, up_axis)
    result = RenderResult()

    if gif_path is not None:
        gif_path = Path(gif_path)
        frames = _subsample(T, max_gif_frames)
        step = frames[1] - frames[0] if len(frames) > 1 else 1
        fig = Figure(figsize=(gif_size, gif_size), dpi=dpi)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0, right=1, bottom=0, top=0.86 if title else 0.93)
        ax = fig.add_subplot(projection="3d")
        gif_path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name (ending in .gif, so Pillow picks the format) and renamed
        # at the end, so a reader never sees half a GIF.
        with atomic_file(gif_path) as tmp:
            writer = PillowWriter(fps=fps / step)
            with writer.saving(fig, str(tmp), dpi=dpi):
                for t in tqdm(frames, desc="rendering GIF", unit="frame", disable=not progress):
                    scene.draw(ax, t)
                    label = f"{title}\n" if title else ""
                    f = first_frame + t
                    fig.suptitle(f"{label}frame {f} ({f / fps:.2f} s)", fontsize=8)
                    writer.grab_frame()
        result.gif, result.gif_frames = gif_path, frames

    if png_path is not None:
        png_path = Path(png_path)
        n = min(n_strip, T)
        frames = sorted({int(round(v)) for v in np.linspace(0, T - 1, n)})
        pw, ph = panel_size
        fig = Figure(figsize=(pw * len(frames), ph), dpi=dpi)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=0, right=1, bottom=0, top=0.9 if title else 1, wspace=0)
        for k, t in enumerate(frames):
            ax = fig.add_subplot(1, len(frames), k + 1, projection="3d")
            f = first_frame + t
            scene.draw(ax, t, title=f"frame {f} ({f / fps:.2f} s)")
        if title:
            fig.suptitle(title, fontsize=10)
        buf = BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        atomic_write_bytes(png_path, buf.getvalue())
        result.png, result.strip_frames = png_path, frames
    return result


def _is_static_anchor(motion: Motion) -> bool:
    """Joint 0 never moves and has one child: a world anchor (Bandai's ``joint_Root``), not body."""
    sk = motion.skeleton
    if sk.num_joints < 2 or int(np.sum(sk.parents == 0)) != 1:
        return False
    return not np.any(motion.rotations[:, 0]) and np.all(motion.root_translation == motion.root_translation[0])


def render_motion(
    motion: Motion,
    gif_path: str | os.PathLike | None = None,
    png_path: str | os.PathLike | None = None,
    joints: Sequence[str] | str | None = None,
    **kwargs,
) -> RenderResult:
    """Draw a :class:`~hf_motion.Motion` with :func:`render_positions`.

    Args:
        joints: a joint subset (registered name or list) to draw; by default every joint, except
            that a static world-anchor root (like the Bandai files' ``joint_Root``, which would
            otherwise show as a bone from the origin to the hips) is left out.
        **kwargs: passed on to :func:`render_positions` (``title``, ``n_strip``, ...); ``fps`` and
            ``up_axis`` default to the motion's.
    """
    if joints is not None:
        motion = motion.select_joints(joints)
    elif _is_static_anchor(motion):
        motion = motion.select_joints(motion.skeleton.names[1:])
    kwargs.setdefault("fps", motion.fps)
    kwargs.setdefault("up_axis", motion.skeleton.up_axis)
    kwargs.setdefault("joint_names", motion.skeleton.names)
    return render_positions(motion.positions(), motion.skeleton.parents.tolist(), gif_path, png_path, **kwargs)


# ----------------------------------------------------------------------------- command line


def render_side_by_side(
    motions: Sequence[Motion],
    names: Sequence[str],
    gif_path: str | os.PathLike | None = None,
    png_path: str | os.PathLike | None = None,
    spacing: float | None = None,
    title: str | None = None,
    **kwargs,
) -> RenderResult:
    """Draw several motions of one skeleton type in one scene, side by side (e.g. a generated
    motion beside a real one). Each motion keeps its own trajectory and is shifted along the first
    horizontal axis by ``spacing`` (default: 2 x the widest pose, at least 1 m); they are cut to
    the shortest. ``names`` label them in the title, in order of increasing shift."""
    if len(motions) != len(names) or not motions:
        raise ValueError(f"render_side_by_side needs one name per motion, got {len(motions)} motions and {len(names)} names")
    fps, up = motions[0].fps, motions[0].skeleton.up_axis
    for k, m in enumerate(motions):
        if m.fps != fps or m.skeleton.up_axis != up:
            raise ValueError(f"motion {k} ({names[k]}) is at {m.fps:g} fps with up axis {m.skeleton.up_axis!r}; "
                             f"motion 0 is at {fps:g} fps with up axis {up!r}: resample it first")  # fmt: skip
    motions = [m.select_joints(m.skeleton.names[1:]) if _is_static_anchor(m) else m for m in motions]
    T = min(m.num_frames for m in motions)
    positions = [m.positions()[:T] for m in motions]
    up_i = _AXES.index(up)
    side = [a for a in range(3) if a != up_i][0]
    if spacing is None:
        width = max(float(np.ptp(p[..., side], axis=1).max()) for p in positions)
        spacing = max(2.0 * width, 1.0)
    parents, joint_names, placed = [], [], []
    for k, (m, p) in enumerate(zip(motions, positions)):
        shifted = p.copy()
        shifted[..., side] += k * spacing
        placed.append(shifted)
        offset = sum(q.shape[1] for q in positions[:k])
        parents += [int(q) + offset if q >= 0 else -1 for q in m.skeleton.parents]
        joint_names += list(m.skeleton.names)
    label = " | ".join(names) + f" (shifted along {_AXES[side]})"
    title = f"{title}\n{label}" if title else label
    return render_positions(np.concatenate(placed, axis=1), parents, gif_path, png_path, fps=fps, up_axis=up,
                            title=title, joint_names=joint_names, **kwargs)  # fmt: skip


def _bvh_scale(text: str) -> str | float:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale must be 'auto' or a number, got {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``hf-motion render``."""
    p.add_argument("input", type=Path, help="a .bvh file, or token ids: .txt (M5 text), .json or .npy (list of ids)")
    p.add_argument(
        "--out", default=None, help="output prefix: writes PREFIX.gif and PREFIX.png (default: the input's name, in the current folder)"
    )
    p.add_argument("--start", type=int, default=0, help="first frame to draw (default 0)")
    p.add_argument("--frames", type=int, default=None, help="number of frames to draw (default: all)")
    p.add_argument("--joints", default=None, help="joint subset: a registered name (e.g. bandai-core) or comma-separated joint names")
    p.add_argument(
        "--scale",
        type=_bvh_scale,
        default="auto",
        help="BVH length scale to metres: 'auto' (default: inferred from the body's height) or a number (0.01 for cm)",
    )
    p.add_argument("--tokenizer", type=Path, default=None, help="tokenizer folder, to decode a token file")
    p.add_argument(
        "--vq-model",
        type=Path,
        default=None,
        help="a motion VQ-VAE folder (recipes/train_vq.py), to decode learned codes: .txt "
        "(<motion_start><motion_id_N>...<motion_end>) or .npy (steps x codes per step)",
    )
    p.add_argument("--reference", type=Path, default=None, help="BVH file whose skeleton (with --joints) gives the bones of decoded tokens")
    p.add_argument("--fps", type=float, default=None, help="frame rate of a token file (default 30)")
    p.add_argument("--up-axis", choices=list(_AXES), default=None, help="vertical axis (default: the skeleton's, else y)")
    p.add_argument("--strip", type=int, default=8, help="frames in the PNG strip (default 8)")
    p.add_argument("--max-gif-frames", type=int, default=60, help="subsample the GIF to at most this many frames")
    p.add_argument("--no-gif", action="store_true", help="skip the GIF")
    p.add_argument("--no-png", action="store_true", help="skip the PNG strip")
    p.add_argument("--title", default=None, help="title (default: the input file name)")


def _joint_subset(spec: str | None):
    if spec is None:
        return None
    from .skeletons import JOINT_SUBSETS

    if spec in JOINT_SUBSETS or "," not in spec:
        return spec  # a registered name (or a single joint name; select_joints says which is unknown)
    return [s.strip() for s in spec.split(",") if s.strip()]


def _read_token_ids(path: Path) -> np.ndarray:
    """Token ids from a ``.json`` (list, or ``{"input_ids": [...]}``) or ``.npy`` file."""
    if path.suffix == ".npy":
        try:
            ids = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{path}: not a numeric .npy array of token ids ({e})") from None
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a JSON file of token ids ({e})") from None
        if isinstance(data, dict):
            if "input_ids" not in data:
                raise ValueError(f"{path}: a JSON object needs an 'input_ids' key, found {sorted(data)}")
            data = data["input_ids"]
        try:
            ids = np.asarray(data)
        except ValueError:
            raise ValueError(f"{path}: token ids must be a flat list of integers") from None
    if ids.ndim == 2 and ids.shape[0] == 1:
        ids = ids[0]
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"{path}: expected one non-empty sequence of token ids, got an array of shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        # Whole-valued floats (e.g. ids saved through a float array) are fine; anything else is not.
        if ids.dtype.kind == "f":
            ok = np.isfinite(ids) & (ids == np.round(ids))
        else:
            ok = np.array([isinstance(v, int) and not isinstance(v, bool) for v in ids.tolist()])
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"{path}: token ids must be integers; position {k} holds {ids.tolist()[k]!r}")
    return ids.astype(np.int64)


def _decode_tokens(args: argparse.Namespace) -> tuple[np.ndarray, list[int] | None, list[str] | None, str, float]:
    """Positions (and bones, if a reference is given) from a token file."""
    from .tokenization.tokenizer import MotionTokenizer

    if args.tokenizer is None:
        raise ValueError(f"{args.input}: a token file needs --tokenizer DIR (the tokenizer that made the ids)")
    if not args.tokenizer.is_dir():
        raise FileNotFoundError(f"tokenizer folder not found: {args.tokenizer}")
    from .resources import resolve_tokenizer

    tok = MotionTokenizer.from_pretrained(resolve_tokenizer(str(args.tokenizer)))
    if args.input.suffix == ".txt":
        try:
            text = args.input.read_text(encoding="utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise ValueError(f"{args.input}: not a UTF-8 text file ({e})") from None
        decoded = tok.text_to_motion(text)
    else:
        decoded = tok.decode_motion(_read_token_ids(args.input))

    skeleton_motion = None
    if args.reference is not None:
        skeleton_motion = load_bvh(args.reference, scale=args.scale)
        subset = _joint_subset(args.joints)
        if subset is not None:
            skeleton_motion = skeleton_motion.select_joints(subset)
    elif args.joints is not None:
        raise ValueError("--joints with a token file needs --reference BVH (the skeleton the joints come from)")

    up_axis = args.up_axis or (skeleton_motion.skeleton.up_axis if skeleton_motion is not None else "y")
    fps = args.fps or 30.0
    positions = decoded.positions
    if positions is None:
        if decoded.angles is None:
            raise ValueError(f"{args.input}: the tokens hold no motion frames")
        if skeleton_motion is None:
            raise ValueError(
                f"{args.input}: the tokens hold joint angles only (task {decoded.task!r}); pass "
                "--reference BVH --joints SUBSET to draw them by forward kinematics on that skeleton"
            )
        _check_joint_count(decoded.angles.shape[1], skeleton_motion, args)
        # Angles only: pose the reference skeleton, its root held at its first-frame height.
        root = np.zeros((len(decoded.angles), 3))
        up = _AXES.index(up_axis)
        root[:, up] = skeleton_motion.root_translation[0, up]
        posed = Motion(decoded.angles, root, skeleton_motion.skeleton, fps)
        positions = posed.positions()
    elif skeleton_motion is not None:
        _check_joint_count(positions.shape[1], skeleton_motion, args)
    if skeleton_motion is None:
        return positions, None, None, up_axis, fps
    sk = skeleton_motion.skeleton
    return positions, sk.parents.tolist(), list(sk.names), up_axis, fps


def _decode_codes(args: argparse.Namespace) -> Motion:
    """A motion from learned codes (text or ``.npy``) and the VQ-VAE folder that made them."""
    from transformers import AutoModel, AutoProcessor

    from .models.motion_vq import MotionVQProcessor

    if not args.vq_model.is_dir():
        raise FileNotFoundError(f"VQ model folder not found: {args.vq_model}")
    model, processor = AutoModel.from_pretrained(args.vq_model), AutoProcessor.from_pretrained(args.vq_model)
    if not isinstance(processor, MotionVQProcessor):
        raise ValueError(f"{args.vq_model} holds no MotionVQProcessor (preprocessor_config.json); is it a VQ-VAE folder?")
    if args.input.suffix == ".txt":
        codes = processor.text_to_codes(args.input.read_text(encoding="utf-8"))
    elif args.input.suffix == ".npy":
        codes = np.load(args.input, allow_pickle=False)
    else:
        raise ValueError(f"{args.input}: learned codes are read from .txt or .npy, not {args.input.suffix!r}")
    if codes.ndim == 1:
        codes = codes[:, None]
    if codes.ndim != 2 or codes.shape[1] != processor.tokens_per_step or len(codes) == 0:
        raise ValueError(f"{args.input}: expected codes shaped (steps, {processor.tokens_per_step}), got {codes.shape}")
    return processor.decode(model, codes)


def _check_joint_count(J: int, skeleton_motion: Motion, args: argparse.Namespace) -> None:
    if J != skeleton_motion.num_joints:
        raise ValueError(
            f"{args.input}: the tokens hold {J} joints but {args.reference} with --joints {args.joints} has "
            f"{skeleton_motion.num_joints}; pass the joint subset the tokens were made with"
        )


def run(args: argparse.Namespace) -> int:
    """Run ``hf-motion render``; returns 0, or 2 after printing what is wrong with the input."""
    try:
        return _run(args)
    except (FileNotFoundError, ValueError) as e:  # BVHError, MotionError, MotionTokenizerError included
        print(f"hf-motion render: error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    path: Path = args.input
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        motion = load_bvh(path, scale=args.scale)
        subset = _joint_subset(args.joints)
        if subset is not None:
            motion = motion.select_joints(subset)
        elif _is_static_anchor(motion):
            motion = motion.select_joints(motion.skeleton.names[1:])
        positions = motion.positions()
        parents, names = motion.skeleton.parents.tolist(), list(motion.skeleton.names)
        up_axis, fps = args.up_axis or motion.skeleton.up_axis, args.fps or motion.fps
    elif args.vq_model is not None:
        motion = _decode_codes(args)
        if _is_static_anchor(motion):
            motion = motion.select_joints(motion.skeleton.names[1:])
        positions = motion.positions()
        parents, names = motion.skeleton.parents.tolist(), list(motion.skeleton.names)
        up_axis, fps = args.up_axis or motion.skeleton.up_axis, motion.fps
    elif suffix in TOKEN_SUFFIXES:
        positions, parents, names, up_axis, fps = _decode_tokens(args)
    else:
        raise ValueError(
            f"{path}: unknown input type {path.suffix!r}; expected .bvh, or a token file ({', '.join(TOKEN_SUFFIXES)}) with --tokenizer"
        )

    T = positions.shape[0]
    if not 0 <= args.start < T:
        raise ValueError(f"--start {args.start} is outside the clip's {T} frames (0..{T - 1})")
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be at least 1, got {args.frames}")
    stop = T if args.frames is None else min(T, args.start + args.frames)
    positions = positions[args.start : stop]

    prefix = Path(args.out) if args.out else Path.cwd() / path.stem
    result = render_positions(
        positions,
        parents,
        gif_path=None if args.no_gif else prefix.with_name(prefix.name + ".gif"),
        png_path=None if args.no_png else prefix.with_name(prefix.name + ".png"),
        fps=fps,
        up_axis=up_axis,
        title=args.title if args.title is not None else f"{path.name} [{args.start}:{stop}]",
        n_strip=args.strip,
        joint_names=names,
        max_gif_frames=args.max_gif_frames,
        progress=True,
        first_frame=args.start,
    )
    for written in (result.gif, result.png):
        if written is not None:
            print(f"wrote {written}")
    return 0
