"""Table II's memory columns: torchsummary's count (what the paper printed), the activations a
training step saves, and the measured peak of the trainer's own step, for our network and a
3D-convolution baseline of the same depth."""

from reidlib.memory.baseline3d import Video3DNet
from reidlib.memory.footprint import (
    FLOAT32,
    MIB,
    Footprint,
    count_parameters,
    measure_peak_memory,
    summary_footprint,
)
from reidlib.memory.measure import (
    MEMORY_NETWORKS,
    StepMemory,
    build_memory_network,
    measure_training_steps,
    per_frame_footprint,
    random_batch,
    saved_activation_bytes,
)

__all__ = [
    "FLOAT32",
    "MEMORY_NETWORKS",
    "MIB",
    "Footprint",
    "StepMemory",
    "Video3DNet",
    "build_memory_network",
    "count_parameters",
    "measure_peak_memory",
    "measure_training_steps",
    "per_frame_footprint",
    "random_batch",
    "saved_activation_bytes",
    "summary_footprint",
]
