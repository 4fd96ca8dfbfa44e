"""The PoseGPT-style generator family: a GPT over the codes of a learned motion tokenizer, conditioned
on action, style and duration (:mod:`.modeling_motion_code_gpt`), registered with the Auto classes on
import."""

from .modeling_motion_code_gpt import MotionCodeGPTConfig, MotionCodeGPTForCausalLM, generate_codes, train_code_gpt
