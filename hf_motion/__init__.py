"""hf_motion: human motion as a language, for Hugging Face transformers."""

from .bvh import BVHError, load_bvh, save_bvh
from .kinematics import canonicalize_positions, forward_kinematics
from .motion import Motion, MotionError, Skeleton
from .quantizer import QuantizationRangeError, UniformQuantizer
from .skeletons import JOINT_SUBSETS, register_joint_subset
from .tokenizer import MotionTokenizer, MotionTokenizerError, MotionTokens

__version__ = "0.1.0"
from .resample import resample_motion
from .amass import AMASSError, SMPLBody, amass_positions, load_amass
from .keypoints import (
    KeypointError,
    KeypointLayout,
    Keypoints,
    PositionReference,
    keypoints_to_positions,
    load_keypoints,
    reference_position_percentiles,
    register_keypoint_layout,
)
from .render import RenderResult, render_motion, render_positions
from .modeling import (
    MODEL_PRESETS,
    MotionGPT2Config,
    MotionGPT2ForCausalLM,
    MotionGPT2ForSequenceClassification,
    MotionGPT2Model,
    motion_gpt2_config,
)

# AutoTokenizer finds MotionTokenizer by the class name saved in tokenizer_config.json once it is
# registered; registration needs a config class, and ours is the model's.
from transformers import AutoTokenizer as _AutoTokenizer

_AutoTokenizer.register(MotionGPT2Config, tokenizer_class=MotionTokenizer, exist_ok=True)
from .modeling import count_parameters, motion_position_indices
from .generation import MotionLogitsProcessor, MotionPromptError, predict
from .text_motion import (
    MotionTextVocab,
    add_motion_tokens,
    motion_to_text_tokens,
    resize_model_embeddings,
    text_tokens_to_motion,
)
from .multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig
from .cv import TaskSpec, aggregate_window_predictions, group_folds, inner_validation_split, load_task_specs
from .features import clip_features, feature_matrix, kinematic_features
from .model_card import build_model_card, push_to_hub, save_for_hub, validate_model_card

_AutoTokenizer.register(MotionMultiTaskConfig, tokenizer_class=MotionTokenizer, exist_ok=True)
from .datasets import MotionDatasetConfig, MotionFolder, bandai_namco, build_motion_dataset
