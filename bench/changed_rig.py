"""Bench: Bandai-Namco clips written back out on a *changed rig*, to check that defaults adapt.

The rig differs from Bandai's in everything a new capture could change:

* joint names: CMU's (cgspeed BVH: ``Hips, LowerBack, Spine, Spine1, Neck, Neck1, Head,
  LeftShoulder, LeftArm, LeftForeArm, LeftHand, LHipJoint, LeftUpLeg, LeftLeg, LeftFoot,
  LeftToeBase``, ...), in CMU's joint order (legs first) and Euler order (ZYX);
* joint count: Bandai's static ``joint_Root`` is gone; zero-length helper joints are added where
  CMU has them (``LHipJoint``/``RHipJoint``, ``LowerBack``, ``Neck1``), and dummy child joints
  with End Sites hang off the hands (``LeftFingerBase`` -> ``LeftHandIndex1``, ``LThumb``), the
  head and the toes;
* unit: inches (Bandai is centimetres);
* frame rate: 120 fps (Bandai is 30), resampled with :func:`hf_motion.resample_motion`.

Then it reads every file back with :func:`hf_motion.load_bvh` (``scale="auto"``) and checks the
unit (``labels["bvh_unit"] == "inches"``), the rate (120 fps), that ``joints="auto"`` resolves to
the CMU names of Bandai's core joints, and that forward kinematics of those joints matches the
original clip's ``bandai-core`` joints (resampled the same way) to within ``--tolerance-mm``.

    python bench/changed_rig.py [OUT_DIR] [--clips 36] [--fps 120]
    hf-motion build-dataset OUT_DIR --out /tmp/x --fps 10                         # default joints
    accelerate launch recipes/pretrain.py --sources OUT_DIR --fps 10 --max_steps 100 --output_dir /tmp/rig-run

``OUT_DIR`` defaults to a folder under the system temporary folder, never the repository.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import DATA, REPO

INCH = 0.0254

# Bandai-Namco joint -> CMU name (Bandai's static joint_Root is dropped).
RENAME = {
    "Hips": "Hips", "Spine": "Spine", "Chest": "Spine1", "Neck": "Neck", "Head": "Head",
    "Shoulder_L": "LeftShoulder", "UpperArm_L": "LeftArm", "LowerArm_L": "LeftForeArm", "Hand_L": "LeftHand",
    "Shoulder_R": "RightShoulder", "UpperArm_R": "RightArm", "LowerArm_R": "RightForeArm", "Hand_R": "RightHand",
    "UpperLeg_L": "LeftUpLeg", "LowerLeg_L": "LeftLeg", "Foot_L": "LeftFoot", "Toes_L": "LeftToeBase",
    "UpperLeg_R": "RightUpLeg", "LowerLeg_R": "RightLeg", "Foot_R": "RightFoot", "Toes_R": "RightToeBase",
}  # fmt: skip

# The changed rig in CMU's order: (name, parent, source Bandai joint or None for a helper/dummy joint,
# helper offset in metres along the parent's bone axis (Bandai bones point along local +x)).
RIG = [("Hips", None, "Hips", 0.0)]
for _s, _b in (("L", "L"), ("R", "R")):
    _side = "Left" if _s == "L" else "Right"
    RIG += [
        (f"{_s}HipJoint", "Hips", None, 0.0),  # zero-length helper, as in CMU files
        (f"{_side}UpLeg", f"{_s}HipJoint", f"UpperLeg_{_b}", None),
        (f"{_side}Leg", f"{_side}UpLeg", f"LowerLeg_{_b}", None),
        (f"{_side}Foot", f"{_side}Leg", f"Foot_{_b}", None),
        (f"{_side}ToeBase", f"{_side}Foot", f"Toes_{_b}", None),
    ]
RIG += [
    ("LowerBack", "Hips", None, 0.0),
    ("Spine", "LowerBack", "Spine", None),
    ("Spine1", "Spine", "Chest", None),
    ("Neck", "Spine1", "Neck", None),
    ("Neck1", "Neck", None, 0.0),
    ("Head", "Neck1", "Head", None),
]
for _s, _b in (("L", "L"), ("R", "R")):
    _side = "Left" if _s == "L" else "Right"
    RIG += [
        (f"{_side}Shoulder", "Spine1", f"Shoulder_{_b}", None),
        (f"{_side}Arm", f"{_side}Shoulder", f"UpperArm_{_b}", None),
        (f"{_side}ForeArm", f"{_side}Arm", f"LowerArm_{_b}", None),
        (f"{_side}Hand", f"{_side}ForeArm", f"Hand_{_b}", None),
        (f"{_side}FingerBase", f"{_side}Hand", None, 0.04),  # dummy finger joints (never rotate)
        (f"{_side}HandIndex1", f"{_side}FingerBase", None, 0.03),
        (f"{_s}Thumb", f"{_side}Hand", None, 0.02),
    ]
# End Sites (metres, along the joint's bone axis) on every leaf: fingers, thumbs, head, toes.
END_SITE = {"LeftHandIndex1": 0.025, "RightHandIndex1": 0.025, "LThumb": 0.03, "RThumb": 0.03,
            "Head": 0.12, "LeftToeBase": 0.05, "RightToeBase": 0.05}  # fmt: skip

# What joints="auto" must find on this rig: Bandai's core (written out here, not taken from the
# code under test) under its CMU names, in the rig's order.
BANDAI_CORE = ["Hips", "Spine", "Chest", "Neck", "Head", "UpperArm_L", "LowerArm_L", "Hand_L", "UpperArm_R",
               "LowerArm_R", "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L", "UpperLeg_R", "LowerLeg_R", "Foot_R"]  # fmt: skip
EXPECTED_AUTO = [name for name, _, src, _ in RIG if src in BANDAI_CORE]
AUTO_SOURCES = [src for _, _, src, _ in RIG if src in BANDAI_CORE]  # their Bandai names, in the rig's order
CMU_ROOT_CHANNELS = ["Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"]
CMU_CHANNELS = ["Zrotation", "Yrotation", "Xrotation"]


def changed_rig(motion):
    """``motion`` (a Bandai-Namco clip) on the CMU-named rig above; FK of the kept joints is exact."""
    import hf_motion as hm

    moving = motion.select_joints([n for n in motion.skeleton.names if n != "joint_Root"])
    src = {n: j for j, n in enumerate(moving.skeleton.names)}
    names = [r[0] for r in RIG]
    parents = [-1 if p is None else names.index(p) for _, p, _, _ in RIG]
    offsets = np.zeros((len(RIG), 3))
    T = moving.num_frames
    rotations = np.zeros((T, len(RIG), 3))
    for k, (_name, _parent, source, length) in enumerate(RIG):
        if source is not None:
            offsets[k] = moving.skeleton.offsets[src[source]]
            rotations[:, k] = moving.rotations[:, src[source]]
        else:
            offsets[k] = [length, 0.0, 0.0]
    end_sites = {n: [length, 0.0, 0.0] for n, length in END_SITE.items()}
    channels = [CMU_ROOT_CHANNELS if k == 0 else CMU_CHANNELS for k in range(len(RIG))]
    skel = hm.Skeleton(names, parents, offsets, moving.skeleton.up_axis, channels=channels, end_sites=end_sites)
    local = None
    if moving.local_translations is not None:  # kept only when a dropped joint moved (never for Bandai)
        local = np.broadcast_to(offsets, (T, len(RIG), 3)).copy()
        for k, (_, _, source, _) in enumerate(RIG):
            if source is not None:
                local[:, k] = moving.local_translations[:, src[source]]
    labels = {k: v for k, v in motion.labels.items() if not k.startswith("bvh_")}
    return hm.Motion(rotations, moving.root_translation, skel, moving.fps, labels, local)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", nargs="?", default=str(Path(tempfile.gettempdir()) / "hf_motion-changed-rig"),
                   help="folder for the BVH files (default: under the system temporary folder)")  # fmt: skip
    p.add_argument("--clips", type=int, default=36, help="how many dataset-1 clips (default 36)")
    p.add_argument("--fps", type=float, default=120.0, help="frame rate of the written files (default 120)")
    p.add_argument("--tolerance-mm", type=float, default=1.0, help="FK agreement required (default 1 mm)")
    args = p.parse_args(argv)
    import hf_motion as hm
    from hf_motion.skeletons import auto_joint_subset, match_joint_roles

    out = Path(args.out).expanduser().resolve()
    if out == REPO or REPO in out.parents:
        p.error(f"{out} is inside the repository; write the changed-rig files elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    stale = sorted(out.glob("*.bvh"))
    for f in stale:  # a previous run's files (another --clips) would be built too
        f.unlink()
    files = sorted((DATA / "dataset-1" / "data").glob("*.bvh"))
    if not files:
        sys.exit(f"no Bandai data under {DATA}; set HF_MOTION_DATA")
    # Evenly spread over the sorted list, so that several contents and styles are in.
    pick = np.unique(np.linspace(0, len(files) - 1, min(args.clips, len(files))).round().astype(int))
    files = [files[i] for i in pick]

    t0 = time.perf_counter()
    written = []
    for f in files:
        m = hm.load_bvh(f)
        rig = hm.resample_motion(changed_rig(m), args.fps)
        dest = out / f.name
        hm.save_bvh(rig, dest, scale=INCH)
        written.append((f, dest))
    t_write = time.perf_counter() - t0
    size_mb = sum(d.stat().st_size for _, d in written) / 1e6

    t0 = time.perf_counter()
    problems, worst_mm, frames, units = [], 0.0, 0, set()
    for f, dest in written:
        back = hm.load_bvh(dest)  # scale="auto"
        units.add(back.labels["bvh_unit"])
        frames += back.num_frames
        if back.labels["bvh_unit"] != "inches" or not back.labels["bvh_scale_inferred"]:
            problems.append(f"{dest.name}: read back as {back.labels['bvh_unit']!r} (scale {back.labels['bvh_scale']:g})")
        if not math.isclose(back.fps, args.fps, rel_tol=1e-4):
            problems.append(f"{dest.name}: read back at {back.fps:g} fps")
        if back.skeleton.names != [r[0] for r in RIG]:
            problems.append(f"{dest.name}: joints {back.skeleton.names}")
        auto = auto_joint_subset(back.skeleton)
        if auto != EXPECTED_AUTO:
            problems.append(f"{dest.name}: auto joints {auto}, expected {EXPECTED_AUTO}")
            continue
        # FK of the auto joints against the same joints of the original clip, resampled alike.
        orig = hm.resample_motion(hm.load_bvh(f), args.fps)
        ref = orig.positions()[:, [orig.skeleton.index(n) for n in AUTO_SOURCES]]  # full-skeleton FK
        got = back.select_joints(auto).positions()
        n = min(len(ref), len(got))
        worst_mm = max(worst_mm, float(np.abs(ref[:n] - got[:n]).max()) * 1000)
    t_check = time.perf_counter() - t0
    match = match_joint_roles(hm.load_bvh(written[0][1]).skeleton)

    print(f"changed rig: {len(written)} Bandai dataset-1 clips -> {out}")
    print(f"  rig: {len(RIG)} joints (CMU names, Euler ZYX), inches, {args.fps:g} fps; {frames:,} frames, {size_mb:.1f} MB")
    print(f"  written in {t_write:.1f} s; read back and checked in {t_check:.1f} s")
    print(f"  read back: units {sorted(units)}; 'auto' matched {len(match.roles)} roles by {match.convention!r} names:")
    print(f"    {', '.join(EXPECTED_AUTO)}")
    print(f"  FK of the auto joints vs the original bandai-core joints: max {worst_mm:.4f} mm")
    if worst_mm > args.tolerance_mm:
        problems.append(f"FK differs by up to {worst_mm:.3f} mm (> {args.tolerance_mm:g} mm)")
    for line in problems:
        print(f"  PROBLEM {line}")
    print("next, with defaults:")
    print(f"  hf-motion build-dataset {out} --out /tmp/x --fps 10")
    print(f"  accelerate launch recipes/pretrain.py --sources {out} --fps 10 --max_steps 100 --output_dir /tmp/rig-run")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
