"""The numbered notebooks, one per part of the paper (make run executes them in this order)."""

STEMS = (
    "00_method_tour",
    "01_data",
    "02_training",
    "03_backbone",
    "04_clip_length",
    "05_batch_size",
    "06_transfer_learning",
    "07_comparison_memory",
    "08_rank_lists",
    "09_what_matters",
)
