"""Size and count limits applied to uploads (one frozen dataclass; override with ``replace``)."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024
GB = 1024 * MB


@dataclass(frozen=True)
class UploadLimits:
    """Every bound the validators enforce. Defaults suit BERT-base-sized classifiers.

    The service builds one from its settings; tests shrink them with ``dataclasses.replace``.
    """

    # archives
    max_upload_bytes: int = 2 * GB          # the compressed upload itself
    max_members: int = 64                   # a HF model directory has ~10 files
    max_member_bytes: int = 2 * GB          # one uncompressed file
    max_total_bytes: int = 3 * GB           # all uncompressed files together
    max_compression_ratio: float = 200.0    # uncompressed / compressed, whole archive and per member
    ratio_floor_bytes: int = 1 * MB         # members smaller than this skip the per-member ratio test
    # model files
    max_model_bytes: int = 2 * GB           # sum of safetensors data
    max_parameters: int = 600_000_000
    max_safetensors_header_bytes: int = 16 * MB
    max_json_bytes: int = 64 * MB           # tokenizer.json is the largest JSON file
    max_vocab_size: int = 1_000_000
    max_model_memory_bytes: int = 8 * GB    # what config.json implies for an audit (config_shapes)
    max_validation_seconds: float = 120.0   # wall time of one validation (see deadline.py)
    # the tokenizer is loaded once in a child process (tokenizer_probe); 0 seconds skips it
    tokenizer_probe_seconds: float = 30.0
    tokenizer_probe_memory_bytes: int = 2 * GB
    # datasets
    max_dataset_bytes: int = 200 * MB
    max_dataset_rows: int = 200_000
    max_text_chars: int = 20_000            # longer texts are refused, see dataset_files


DEFAULT_LIMITS = UploadLimits()
