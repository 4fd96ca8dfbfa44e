"""hf_motion: human motion as a language, for Hugging Face transformers.

Importing it registers the motion model, config and tokenizer classes with the ``Auto*``
classes of transformers. Data flows one way: readers -> skeleton/FK -> quantizer/tokenizer/processor ->
datasets -> models -> recipes.
"""

__version__ = "0.1.0"

from types import ModuleType as _ModuleType

# Readers, skeleton and kinematics.
from .motion import Motion, MotionError, Skeleton
from .skeletons import JOINT_SUBSETS, register_joint_subset
from .io.bvh import BVHError, BVHScaleWarning, infer_bvh_unit, load_bvh, save_bvh
from .kinematics import canonicalize_positions, forward_kinematics
from .resample import resample_motion
from .io.amass import AMASSError, SMPLBody, amass_positions, load_amass
from .io.keypoints import (
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

# Quantizer and tokenizer.
from .tokenization.quantizer import QuantizationRangeError, UniformQuantizer
from .tokenization.tokenizer import MotionTokenizer, MotionTokenizerError, MotionTokens
from .processing import MotionProcessor, MotionProcessorError, prepare_motion

# Datasets (the `datasets` library itself is imported lazily inside).
from .datasets import MotionDatasetConfig, MotionFolder, bandai_namco, build_motion_dataset

# Models, generation, fine-tuning helpers.
from .models.motion_gpt2.modeling_motion_gpt2 import (
    MODEL_PRESETS,
    MotionGPT2Config,
    MotionGPT2ForCausalLM,
    MotionGPT2ForSequenceClassification,
    MotionGPT2Model,
    count_parameters,
    motion_gpt2_config,
    motion_position_indices,
    previous_frame_token_ids,
)
from .models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig
from .generation import MotionLogitsProcessor, MotionPromptError, context_capacity, predict
from .tokenization.text_motion import (
    MotionTextVocab,
    add_motion_tokens,
    motion_to_text_tokens,
    resize_model_embeddings,
    text_tokens_to_motion,
)
from .cv import TaskSpec, aggregate_window_predictions, group_folds, inner_validation_split, load_task_specs
from .features import clip_features, feature_matrix, kinematic_features
from .model_card import build_model_card, push_to_hub, save_for_hub, validate_model_card

# pipeline("motion-classification") and pipeline("motion-prediction"), registered on import.
from .pipelines import MotionClassificationPipeline, MotionPredictionPipeline

# Learned tokenizer (VQ-VAE), the generator over its codes, and generation metrics.
from .pose_features import PoseFeatureLayout
from .models.motion_vq import MotionVQConfig, MotionVQOutput, MotionVQProcessor, MotionVQVAE, code_vocabulary
from .models.motion_code_gpt.modeling_motion_code_gpt import MotionCodeGPTConfig, MotionCodeGPTForCausalLM, generate_codes, train_code_gpt
from .evaluation.generation_metrics import (
    GenerationMetrics,
    MotionEvaluator,
    MotionEvaluatorConfig,
    diversity,
    evaluate_generation,
    frechet_distance,
    multimodality,
    real_floor,
    train_evaluator,
)

# Text and motion in one model (MotionGPT style): instruction tasks, the T5 family, its metrics.
from .instructions import caption_from_labels, load_caption_file, load_caption_templates, load_tasks, parse_caption
from .models.motion_t5 import (
    MotionSpanLogitsProcessor,
    TextMotionProcessor,
    build_text_motion_model,
    build_text_motion_tokenizer,
    check_embedding_tying,
    continue_motion_codes,
    generate_motion_codes,
    generate_text,
    inbetween_codes,
    merge_motion_vocabulary,
    motion_to_text,
    motion_vocabulary_tokens,
    resize_text_motion_embeddings,
    text_to_motion,
    train_text_tokenizer,
)
from .evaluation.text_motion_metrics import TextMotionEvaluator, TextMotionEvaluatorConfig, train_text_motion_evaluator

# AutoTokenizer finds MotionTokenizer by the class name in tokenizer_config.json once it is
# registered; registration needs a config class, so it goes through the model configs.
# AutoProcessor finds MotionProcessor by the processor_class in preprocessor_config.json the same way.
from transformers import AutoProcessor as _AutoProcessor
from transformers import AutoTokenizer as _AutoTokenizer

for _config in (MotionGPT2Config, MotionMultiTaskConfig):
    _AutoTokenizer.register(_config, tokenizer_class=MotionTokenizer, exist_ok=True)
    _AutoProcessor.register(_config, MotionProcessor, exist_ok=True)
del _config

__all__ = [n for n, v in dict(globals()).items() if not n.startswith("_") and not isinstance(v, _ModuleType)]
