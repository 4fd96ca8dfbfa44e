"""The M5 motion GPT-2 family: configuration (:mod:`.configuration_motion_gpt2`), models
(:mod:`.modeling_motion_gpt2`) and the multi-task clinical heads
(:mod:`.modeling_motion_gpt2_multitask`), registered with the Auto classes on import."""

from .configuration_motion_gpt2 import MODEL_PRESETS, ModelPreset, MotionGPT2Config, motion_gpt2_config
from .modeling_motion_gpt2 import (
    MotionGPT2ForCausalLM,
    MotionGPT2ForSequenceClassification,
    MotionGPT2Model,
    count_parameters,
    init_ordinal_embeddings,
    motion_position_indices,
    previous_frame_token_ids,
)
from .modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask, MotionMultiTaskConfig
