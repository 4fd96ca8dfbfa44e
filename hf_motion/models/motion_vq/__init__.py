"""The learned motion tokenizer: a VQ-VAE over pose features, its config and its processor."""

from .configuration_motion_vq import MotionVQConfig
from .modeling_motion_vq import MotionVQOutput, MotionVQVAE
from .processing_motion_vq import MotionVQProcessor, code_vocabulary

__all__ = ["MotionVQConfig", "MotionVQOutput", "MotionVQVAE", "MotionVQProcessor", "code_vocabulary"]
