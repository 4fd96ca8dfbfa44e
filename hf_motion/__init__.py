"""hf_motion: human motion as a language, for Hugging Face transformers."""

from .bvh import BVHError, load_bvh, save_bvh
from .kinematics import canonicalize_positions, forward_kinematics
from .motion import Motion, MotionError, Skeleton
from .quantizer import QuantizationRangeError, UniformQuantizer
from .skeletons import JOINT_SUBSETS, register_joint_subset
from .tokenizer import MotionTokenizer, MotionTokenizerError, MotionTokens

__version__ = "0.1.0"
