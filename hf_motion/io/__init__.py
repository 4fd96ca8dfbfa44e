"""Readers: motion files in, :class:`~hf_motion.Motion` out.

* :mod:`.bvh`: BVH (any channel order, unit inferred), and writing BVH back;
* :mod:`.amass`: AMASS / SMPL-family ``.npz`` with a user-supplied body model (never unpickled by default);
* :mod:`.keypoints`: 2D/3D keypoints from video (COCO-17, MediaPipe-33, your own layout);
* :mod:`.readers`: the reader registry by file extension (:func:`~.readers.load_motion`).

(``import io`` elsewhere in the package still means the standard library: imports are absolute.)
"""
