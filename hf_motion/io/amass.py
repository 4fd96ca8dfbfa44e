"""AMASS / SMPL motion files -> :class:`~hf_motion.Motion` on the 22-joint SMPL body skeleton.

AMASS ``.npz`` files hold:

* ``poses``: ``(T, P)`` axis-angle, radians. The layout depends on the body model the file was
  fitted with; in all three the first 66 numbers are the 22 body joints (root orientation then 21
  body joints, in :data:`~hf_motion.skeletons.SMPL_BODY_JOINTS` order):

  ========  ======  ==============================================================
  width     model   layout
  ========  ======  ==============================================================
  72        SMPL    ``[0:66]`` body, ``[66:72]`` left/right hand (one joint each)
  156       SMPL-H  ``[0:66]`` body, ``[66:111]`` left hand, ``[111:156]`` right hand
  165       SMPL-X  ``[0:66]`` body, ``[66:75]`` jaw, left eye, right eye,
                    ``[75:120]`` left hand, ``[120:165]`` right hand
  ========  ======  ==============================================================

* ``trans`` ``(T, 3)`` metres, ``betas`` (shape coefficients), ``gender``, and the frame rate as
  ``mocap_framerate`` (SMPL-H releases) or ``mocap_frame_rate`` (SMPL-X releases).

AMASS is Z-up, so the skeleton has ``up_axis="z"``.

Joint positions need the body model (SMPL model files are licence-restricted: users download them
and point ``body_model`` at the folder). With it, the skeleton's offsets are the shape-dependent
rest joints ``J_regressor @ (v_template + shapedirs @ betas)``, computed from the model file's
plain arrays (see :class:`SMPLBody`; nothing is unpickled unless ``allow_pickle=True``), and the
root translation is ``trans + J_rest[0]`` (smplx adds ``transl`` to every joint and rotates the
body about the rest pelvis ``J_rest[0]``), so :func:`~hf_motion.forward_kinematics` of the Motion
gives smplx's posed body joints. Without it the Motion carries angles and ``trans`` only (see
:func:`load_amass`) and :func:`amass_positions` refuses to make up positions.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..motion import Motion, MotionError, Skeleton
from ..resample import resample_motion
from ..skeletons import SMPL_BODY_JOINTS, SMPL_BODY_PARENTS

__all__ = [
    "AMASSError",
    "SMPLBody",
    "load_amass",
    "amass_positions",
    "POSE_LAYOUTS",
    "GENDERS",
]

NUM_BODY_JOINTS = len(SMPL_BODY_JOINTS)  # 22: root + 21 body joints, poses[:, :66] in every layout

# poses width -> body model it comes from (see the module docstring for the layouts).
POSE_LAYOUTS: dict[int, str] = {72: "smpl", 156: "smplh", 165: "smplx"}
GENDERS = ("male", "female", "neutral")
_MODEL_FILE_PREFIX = {"smpl": "SMPL", "smplh": "SMPLH", "smplx": "SMPLX"}

_HINT_FOLDER = (
    "a folder laid out as smplx expects, e.g. <folder>/smplh/SMPLH_MALE.npz, "
    "<folder>/smplx/SMPLX_NEUTRAL.npz or <folder>/smpl/SMPL_NEUTRAL.npz"
)


class AMASSError(MotionError):
    """A bad AMASS file, or a body model that cannot be found or built."""


def _normalise_gender(value, where: str) -> str:
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    gender = str(value).strip().lower()
    if gender not in GENDERS:
        raise AMASSError(f"{where}: unknown gender {value!r}; expected one of {list(GENDERS)}")
    return gender


# ------------------------------------------------------------------------------------ body model
# The model arrays the rest joints need: J_regressor @ (v_template + shapedirs @ betas).
_MODEL_KEYS = ("v_template", "shapedirs", "J_regressor")
# smplx's rule, kept so that FK matches smplx: files with fewer than 300 shape components
# (SMPL, SMPL-H, small SMPL-X) use 10 coefficients, larger ones 300.
_SHAPE_SPACE_DIM = 300

_CONVERT_HINT = (
    "convert it once, in a session you trust, to an .npz of plain arrays: "
    "d = np.load(src, allow_pickle=True) (or pickle.load for .pkl); "
    "np.savez(dst, **{k: np.asarray(v.toarray() if hasattr(v, 'toarray') else v, dtype=float) "
    "for k, v in d.items() if k in ('v_template', 'shapedirs', 'J_regressor', 'kintree_table')})"
)


def _plain_array(value, path: Path, key: str) -> np.ndarray:
    """A float64 array from a model entry (dense, scipy sparse or chumpy)."""
    if hasattr(value, "toarray"):  # scipy.sparse (SMPL's J_regressor)
        value = value.toarray()
    elif hasattr(value, "r") and not isinstance(value, np.ndarray):  # chumpy
        value = value.r
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise AMASSError(f"{path}: key {key!r} is not a numeric array ({type(value).__name__}: {e})") from None
    if not np.all(np.isfinite(arr)):
        raise AMASSError(f"{path}: key {key!r} holds non-finite values")
    return arr


def _read_model_arrays(path: Path, allow_pickle: bool) -> dict[str, np.ndarray]:
    """The arrays of :data:`_MODEL_KEYS` (plus ``kintree_table`` if present) from a model file.

    Without ``allow_pickle`` nothing is ever unpickled: ``.npz`` files are read with
    ``np.load(allow_pickle=False)`` (an object array raises, naming its key) and ``.pkl`` files
    are refused.
    """
    ext = path.suffix.lower()
    if ext not in (".npz", ".pkl"):
        raise AMASSError(f"{path}: body model files must be .npz or .pkl, got {path.suffix!r}")
    raw: dict = {}
    present: list[str] = []
    if ext == ".pkl":
        if not allow_pickle:
            raise AMASSError(
                f"{path}: .pkl body models are Python pickles, and unpickling a file can run arbitrary "
                f"code, so it is not read by default; {_CONVERT_HINT}, or pass allow_pickle=True if you "
                "trust this file"
            )
        import pickle

        try:
            with open(path, "rb") as f:
                raw = pickle.load(f, encoding="latin1")
        except ModuleNotFoundError as e:
            hint = ""
            if "chumpy" in str(e):
                hint = "; the original SMPL .pkl files pickle chumpy objects: install chumpy, or convert to .npz"
            raise AMASSError(f"{path}: cannot unpickle the body model ({e}){hint}") from e
        except Exception as e:
            raise AMASSError(f"{path}: cannot unpickle the body model ({type(e).__name__}: {e})") from e
        if not isinstance(raw, dict):
            raise AMASSError(f"{path}: expected a pickled dict of model arrays, got {type(raw).__name__}")
        present = sorted(str(k) for k in raw)
    else:
        try:
            npz = np.load(path, allow_pickle=allow_pickle)
        except Exception as e:
            raise AMASSError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise AMASSError(f"{path}: not an .npz archive of model arrays")
        with npz:
            present = sorted(npz.files)
            for key in _MODEL_KEYS + ("kintree_table",):
                if key not in npz.files:
                    continue
                try:
                    raw[key] = npz[key]
                except ValueError:  # an object array: needs pickle
                    raise AMASSError(
                        f"{path}: key {key!r} is a pickled object array, which is not loaded because "
                        f"unpickling can run arbitrary code; {_CONVERT_HINT}, or pass allow_pickle=True "
                        "if you trust this file"
                    ) from None
                if raw[key].dtype == object:  # only reachable with allow_pickle
                    raw[key] = raw[key].item() if raw[key].shape == () else raw[key]
    missing = [k for k in _MODEL_KEYS if k not in raw]
    if missing:
        raise AMASSError(f"{path}: missing model array(s) {missing} (keys present: {present})")
    out = {k: _plain_array(raw[k], path, k) for k in _MODEL_KEYS}
    if "kintree_table" in raw:
        out["kintree_table"] = np.asarray(raw["kintree_table"])
    return out


class SMPLBody:
    """A user-supplied SMPL / SMPL-H / SMPL-X body model, read from its plain arrays.

    Only the body part of the model is used: the rest positions of the 22 body joints,
    ``J_regressor @ (v_template + shapedirs @ betas)``, computed here in float64 from the file's
    ``v_template``, ``shapedirs`` and ``J_regressor`` (``smplx`` is not needed). As in smplx, models
    with fewer than 300 shape components (SMPL, SMPL-H) use 10 shape coefficients, larger ones
    300; :meth:`rest_joints` warns when non-zero coefficients beyond that are dropped.

    Args:
        path: a model file, or a folder in either of these layouts (tried in this order)::

              <path>/<type>/<TYPE>_<GENDER>.npz|.pkl    (smplx, e.g. smplh/SMPLH_MALE.npz)
              <path>/<TYPE>_<GENDER>.npz|.pkl           (the type folder itself)
              <path>/<type>/<gender>/model.npz          (AMASS / human_body_prior)

        model_type: ``"smpl"``, ``"smplh"`` or ``"smplx"``.
        gender: ``"male"``, ``"female"`` or ``"neutral"``.
        allow_pickle: read ``.pkl`` model files and object arrays in ``.npz`` files with Python's
            pickle. **Dangerous**: unpickling a file runs whatever code it contains (a crafted
            model file can take over your account), so only set it for files from a source you
            trust. The default, ``False``, reads ``.npz`` files with ``np.load(allow_pickle=False)``
            and refuses ``.pkl`` files with an error that says how to convert them to plain
            ``.npz`` arrays once.

    Raises:
        AMASSError: unknown type or gender, no model file (the message lists every path looked
            for), a file that needs pickle without ``allow_pickle`` (naming the file and key), or
            arrays that do not make a model (naming the file and key).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        model_type: str = "smplh",
        gender: str = "neutral",
        allow_pickle: bool = False,
    ):
        model_type = str(model_type).lower()
        if model_type not in _MODEL_FILE_PREFIX:
            raise AMASSError(f"unknown body model type {model_type!r}; expected one of {list(_MODEL_FILE_PREFIX)}")
        self.model_type = model_type
        self.gender = _normalise_gender(gender, "body model")
        self.path = self._locate(Path(path), model_type, self.gender)
        arrays = _read_model_arrays(self.path, bool(allow_pickle))
        self.v_template, self.shapedirs, self.J_regressor = self._check_arrays(self.path, arrays)
        n_components = self.shapedirs.shape[-1]
        self.num_betas = min(n_components, 10 if n_components < _SHAPE_SPACE_DIM else _SHAPE_SPACE_DIM)

    def __repr__(self) -> str:
        return f"SMPLBody(type={self.model_type!r}, gender={self.gender!r}, path='{self.path}')"

    @staticmethod
    def _check_arrays(path: Path, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v, dirs, reg = arrays["v_template"], arrays["shapedirs"], arrays["J_regressor"]
        if v.ndim != 2 or v.shape[1] != 3:
            raise AMASSError(f"{path}: 'v_template' has shape {v.shape}, expected (V, 3)")
        V = v.shape[0]
        if dirs.ndim == 2 and dirs.shape == (V, 3):
            dirs = dirs[:, :, None]
        if dirs.ndim != 3 or dirs.shape[:2] != (V, 3) or dirs.shape[2] == 0:
            raise AMASSError(f"{path}: 'shapedirs' has shape {dirs.shape}, expected ({V}, 3, S) for {V} vertices")
        if reg.ndim != 2 or reg.shape[1] != V:
            raise AMASSError(f"{path}: 'J_regressor' has shape {reg.shape}, expected (J, {V}) for {V} vertices")
        if reg.shape[0] < NUM_BODY_JOINTS:
            raise AMASSError(f"{path}: the model has {reg.shape[0]} joints, fewer than the 22 SMPL body joints")
        if "kintree_table" in arrays:
            table = arrays["kintree_table"]
            if table.ndim == 2 and table.shape[0] == 2 and table.shape[1] >= NUM_BODY_JOINTS:
                parents = table[0, 1:NUM_BODY_JOINTS].astype(np.int64).tolist()
                if parents != list(SMPL_BODY_PARENTS[1:]):
                    raise AMASSError(
                        f"{path}: 'kintree_table' gives body joint parents {parents}, not the SMPL body "
                        f"tree {list(SMPL_BODY_PARENTS[1:])}; is this an SMPL-family model?"
                    )
        return v, dirs, reg

    @staticmethod
    def candidate_paths(folder: Path, model_type: str, gender: str) -> list[Path]:
        """Every file a folder is searched for, in order."""
        stem = f"{_MODEL_FILE_PREFIX[model_type]}_{gender.upper()}"
        out = []
        for base in (folder / model_type, folder):
            out += [base / f"{stem}.npz", base / f"{stem}.pkl"]
        out.append(folder / model_type / gender / "model.npz")
        return out

    @classmethod
    def _locate(cls, path: Path, model_type: str, gender: str) -> Path:
        if path.is_file():
            return path
        if not path.is_dir():
            raise AMASSError(f"body model path {path} does not exist (expected a model file or {_HINT_FOLDER})")
        candidates = cls.candidate_paths(path, model_type, gender)
        for c in candidates:
            if c.is_file():
                return c
        looked = "\n  ".join(str(c) for c in candidates)
        raise AMASSError(
            f"no {model_type.upper()} {gender} body model in {path}; looked for:\n  {looked}\n"
            "SMPL model files are licence-restricted: download them from the SMPL / MANO / SMPL-X "
            "websites and pass their folder as body_model"
        )

    def rest_joints(self, betas: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """``(22, 3)`` rest positions of the SMPL body joints for shape ``betas`` (metres, float64)."""
        b = np.zeros(self.num_betas)
        if betas is not None:
            betas = np.asarray(betas, dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(betas)):
                raise AMASSError(f"betas are not finite: {betas}")
            n = min(len(betas), self.num_betas)
            b[:n] = betas[:n]
            n_dropped = int(np.count_nonzero(np.abs(betas[n:]) > 1e-8))
            if n_dropped:
                warnings.warn(
                    f"{self.path}: betas[{n}:] hold {n_dropped} non-zero value(s) that are ignored: smplx "
                    f"uses {self.num_betas} shape coefficients for this model",
                    stacklevel=2,
                )
        v_shaped = self.v_template + self.shapedirs[:, :, : self.num_betas] @ b
        return self.J_regressor[:NUM_BODY_JOINTS] @ v_shaped

    def skeleton(self, betas: Sequence[float] | np.ndarray | None = None) -> Skeleton:
        """The 22-joint body :class:`Skeleton` (Z-up) whose offsets are this shape's rest joints."""
        rest = self.rest_joints(betas)
        parents = np.asarray(SMPL_BODY_PARENTS)
        offsets = rest.copy()  # the root keeps its rest position, as a BVH root offset would
        offsets[1:] = rest[1:] - rest[parents[1:]]
        return Skeleton(list(SMPL_BODY_JOINTS), parents, offsets, up_axis="z")


@functools.lru_cache(maxsize=8)
def _cached_body(path: str, model_type: str, gender: str, allow_pickle: bool) -> SMPLBody:
    return SMPLBody(path, model_type, gender, allow_pickle=allow_pickle)


# --------------------------------------------------------------------------------------- loading
def _read_key(npz, key: str, path: Path):
    try:
        return npz[key]
    except ValueError as e:  # object arrays need pickle, which we never allow for data files
        raise AMASSError(
            f"{path}: key {key!r} cannot be read without pickle ({e}); motion files are never unpickled "
            "(it can run arbitrary code): re-save the file with plain arrays, e.g. a str or number "
            "instead of an object array"
        ) from None


def load_amass(
    path: str | os.PathLike,
    body_model: str | os.PathLike | SMPLBody | None = None,
    gender: str | None = None,
    target_fps: float | None = None,
    joints: str | Sequence[str] = "body",
    model_type: str | None = None,
    allow_pickle: bool = False,
) -> Motion:
    """Read an AMASS ``.npz`` file as a :class:`~hf_motion.Motion` on the SMPL body skeleton.

    Args:
        path: the ``.npz`` file (read with ``allow_pickle=False``).
        body_model: a folder of SMPL model files (see :class:`SMPLBody` for the layouts), a model
            file, or an :class:`SMPLBody` (used as is, whatever the file's gender). ``None`` loads
            angles only (see below). Models loaded from a path are cached (8 most recent), so a
            corpus loop builds each model once.
        gender: overrides the file's ``gender`` (``"male"``, ``"female"``, ``"neutral"``); it
            picks the model file.
        target_fps: resample to this rate with :func:`~hf_motion.resample.resample_motion`
            (``None`` keeps the file's rate).
        joints: ``"body"`` for the 22 SMPL body joints, or a registered joint-subset name
            (e.g. ``"smpl-core"``) or a list of joint names, applied with ``Motion.select_joints``.
        model_type: which body model to load from a folder; by default the one the ``poses``
            width says the file was fitted with (156 -> ``"smplh"``, 165 -> ``"smplx"``,
            72 -> ``"smpl"``).
        allow_pickle: let the *body model* file be unpickled (``.pkl`` files, object arrays in
            ``.npz``). **Dangerous**: unpickling runs any code the file contains; only for model
            files you trust (see :class:`SMPLBody`). The motion file itself is always read with
            ``allow_pickle=False``.

    Returns:
        A Motion with ``up_axis="z"``, ``rotations = poses[:, :66]`` as ``(T, 22, 3)`` and labels
        ``source``, ``gender``, ``betas``, ``pose_layout``, ``mocap_fps``, ``body_model`` (model
        file or ``None``), ``subject`` (the file's folder, AMASS's performer) and ``group``
        (``"<dataset>/<subject>"``, a key for splits that keep a performer on one side).

        With a body model the offsets are the shape's rest joints and ``root_translation`` is
        ``trans + J_rest[0]``, so FK gives smplx's joint positions. Without one the skeleton's
        offsets are all zero (a placeholder rest pose: the real one depends on the licensed model
        and ``betas``), ``root_translation`` is ``trans``, and :func:`amass_positions` raises.

    Raises:
        AMASSError: naming the file and the problem: a missing key, a ``poses`` width that is
            not 72/156/165, ``poses``/``trans`` frame counts that differ, a non-finite value (with
            its frame), an unknown gender, a missing or unusable body model file, or a body
            model that needs pickle without ``allow_pickle``.
    """
    path = Path(path)
    if not path.is_file():
        raise AMASSError(f"AMASS file {path} does not exist")
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as e:
        raise AMASSError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None
    with npz:
        files = set(npz.files)
        for key in ("poses", "trans"):
            if key not in files:
                hint = ""
                if files <= {"betas", "gender", "num_betas", "surface_model_type"}:
                    hint = " (AMASS subject folders also hold shape.npz files with only betas/gender; skip those)"
                raise AMASSError(f"{path}: missing key {key!r} (keys present: {sorted(files)}){hint}")
        rate_key = next((k for k in ("mocap_framerate", "mocap_frame_rate") if k in files), None)
        if rate_key is None:
            raise AMASSError(f"{path}: missing key 'mocap_framerate' (or 'mocap_frame_rate'); keys present: {sorted(files)}")
        poses = np.asarray(_read_key(npz, "poses", path), dtype=np.float64)
        trans = np.asarray(_read_key(npz, "trans", path), dtype=np.float64)
        try:
            src_fps = float(np.asarray(_read_key(npz, rate_key, path)).reshape(()))
        except (TypeError, ValueError):
            raise AMASSError(f"{path}: {rate_key!r} must be one number") from None
        betas = np.asarray(_read_key(npz, "betas", path), dtype=np.float64).reshape(-1) if "betas" in files else None
        file_gender = _read_key(npz, "gender", path) if "gender" in files else None

    if poses.ndim != 2 or poses.shape[1] not in POSE_LAYOUTS:
        widths = ", ".join(f"{w} ({t.upper()})" for w, t in POSE_LAYOUTS.items())
        raise AMASSError(f"{path}: 'poses' has shape {poses.shape}; expected (T, W) with W one of {widths}")
    T = poses.shape[0]
    if T == 0:
        raise AMASSError(f"{path}: 'poses' has no frames")
    if trans.shape != (T, 3):
        raise AMASSError(f"{path}: 'trans' has shape {trans.shape}, expected ({T}, 3) to match 'poses'")
    for key, arr in (("poses", poses[:, : 3 * NUM_BODY_JOINTS]), ("trans", trans)):
        bad = ~np.isfinite(arr)
        if bad.any():
            frame, col = (int(i) for i in np.argwhere(bad)[0])
            where = f"joint {SMPL_BODY_JOINTS[col // 3]!r}" if key == "poses" else f"column {col}"
            raise AMASSError(f"{path}: {key!r} has a non-finite value at frame {frame} ({where})")
    if not (np.isfinite(src_fps) and src_fps > 0):
        raise AMASSError(f"{path}: {rate_key!r} must be a positive frame rate, got {src_fps}")

    layout = POSE_LAYOUTS[poses.shape[1]]
    if gender is not None:
        gender = _normalise_gender(gender, "gender argument")
    elif file_gender is not None:
        gender = _normalise_gender(file_gender, f"{path}: key 'gender'")

    rotations = poses[:, : 3 * NUM_BODY_JOINTS].reshape(T, NUM_BODY_JOINTS, 3)
    body: SMPLBody | None = None
    if isinstance(body_model, SMPLBody):
        body = body_model
    elif body_model is not None:
        if gender is None:
            raise AMASSError(f"{path}: no 'gender' key; pass gender= to pick the body model file")
        body = _cached_body(str(Path(body_model).resolve()), (model_type or layout).lower(), gender, bool(allow_pickle))
    if body is not None:
        if betas is None:
            raise AMASSError(f"{path}: missing key 'betas' (needed for the body model's rest joints)")
        skeleton = body.skeleton(betas)
        root = trans + skeleton.offsets[0]
    else:
        skeleton = Skeleton(list(SMPL_BODY_JOINTS), SMPL_BODY_PARENTS, np.zeros((NUM_BODY_JOINTS, 3)), up_axis="z")
        root = trans.copy()

    labels = {
        "source": str(path),
        "gender": body.gender if body is not None else gender,
        "betas": None if betas is None else betas.tolist(),
        "pose_layout": layout,
        "mocap_fps": src_fps,
        "body_model": None if body is None else str(body.path),
        "subject": path.parent.name,
        "group": f"{path.parent.parent.name}/{path.parent.name}",
    }
    motion = Motion(rotations, root, skeleton, src_fps, labels)
    if target_fps is not None:
        motion = resample_motion(motion, target_fps)
    if joints != "body":
        motion = motion.select_joints(joints)
    return motion


def amass_positions(motion: Motion) -> np.ndarray:
    """``(T, J, 3)`` joint positions (metres, Z-up) of a Motion from :func:`load_amass`.

    Raises:
        AMASSError: the motion was loaded without a body model, so its skeleton is a zero
            placeholder and any positions would be made up.
    """
    from ..kinematics import forward_kinematics

    if "pose_layout" in motion.labels and not motion.labels.get("body_model"):
        raise AMASSError(
            f"{motion.labels.get('source', 'this motion')} was loaded without a body model, so joint "
            f"positions are unknown; pass body_model=<folder> to load_amass ({_HINT_FOLDER})"
        )
    return forward_kinematics(motion)
