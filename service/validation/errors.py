"""Refusals of uploaded models and datasets: one exception, a registry of stable codes.

Every refusal carries a machine-readable ``code`` (stable: clients switch on it), a human
sentence saying why, and the HTTP status the API answers with. Codes live in the explicit
registry ``REJECTION_CODES``; an unknown code is a programming error and raises listing the
valid ones, so a typo can never reach a client.
"""

from __future__ import annotations

# code -> (HTTP status, what it means). 400 malformed input, 413 over a size limit,
# 415 unsupported format, 422 well-formed but not acceptable.
REJECTION_CODES: dict[str, tuple[int, str]] = {
    # archives
    "archive_format": (415, "the upload is not a .zip or .tar.gz archive"),
    "archive_corrupt": (400, "the archive cannot be read (truncated, bad checksum, bad header)"),
    "archive_path_traversal": (400, "a member path contains '..' and would escape the directory"),
    "archive_absolute_path": (400, "a member path is absolute (or has a drive letter)"),
    "archive_bad_name": (400, "a member name is empty, has a NUL byte or is otherwise unusable"),
    "archive_link": (400, "a member is a symbolic or hard link"),
    "archive_special_file": (400, "a member is a device file, FIFO or other non-regular file"),
    "archive_duplicate_member": (400, "two members have the same normalised path"),
    "archive_too_many_members": (413, "the archive has more members than allowed"),
    "archive_member_too_large": (413, "one member is larger than the per-file limit"),
    "archive_too_large": (413, "the total uncompressed size is larger than allowed"),
    "archive_bomb": (413, "the compression ratio is implausibly high (decompression bomb)"),
    "upload_too_large": (413, "the uploaded file is larger than allowed"),
    "validation_timeout": (422, "validating the upload took longer than the configured time"),
    # model files
    "pickle_refused": (422, "a pickle-based checkpoint (.bin/.pt/.pth/.ckpt/.pkl) is never loaded"),
    "model_file_unexpected": (422, "a file type that is not part of a safetensors model"),
    "model_weights_missing": (422, "no .safetensors weights in the upload"),
    "safetensors_header_invalid": (422, "a safetensors header is malformed or inconsistent"),
    "config_missing": (422, "config.json is missing"),
    "config_invalid": (422, "config.json is not valid JSON or has inconsistent fields"),
    "remote_code_refused": (422, "the config asks for custom code (auto_map / trust_remote_code)"),
    "unsupported_architecture": (422, "not a supported sequence classifier"),
    "tokenizer_missing": (422, "no tokenizer files (tokenizer.json, vocab.txt, vocab.json+merges.txt or spm.model)"),
    "tokenizer_invalid": (422, "tokenizer files cannot be parsed or disagree with the model"),
    "tokenizer_vocab_too_large": (422, "the tokenizer vocabulary is absurdly large"),
    "model_too_large": (413, "the model is larger than the configured limit"),
    "config_mismatch": (422, "config.json disagrees with the safetensors shapes or dtypes"),
    "tokenizer_load_failed": (422, "the tokenizer crashed, hung or ran out of memory when loaded in isolation"),
    # datasets
    "dataset_format": (415, "not a CSV, TSV, JSONL or Parquet file"),
    "dataset_too_large": (413, "the dataset file is larger than allowed"),
    "dataset_too_many_rows": (413, "the dataset has more rows than allowed"),
    "dataset_encoding": (400, "the dataset is not valid UTF-8"),
    "dataset_malformed": (400, "a row cannot be parsed (wrong field count, bad JSON, bad type)"),
    "dataset_empty": (422, "the dataset has no rows"),
    "dataset_column_missing": (422, "a mapped or required column is not in the file"),
    "dataset_label_unknown": (422, "a label is not in the model's label set"),
    "dataset_text_too_long": (422, "a text is longer than the accepted maximum"),
}


class UploadRejected(Exception):
    """An upload that was refused: ``code`` (stable), ``message`` (a sentence), ``status``."""

    input_error = True

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        if code not in REJECTION_CODES:
            valid = ", ".join(sorted(REJECTION_CODES))
            raise ValueError(f"unknown rejection code {code!r}; valid codes: {valid}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else REJECTION_CODES[code][0]

    def to_json(self) -> dict[str, str | int]:
        """The error body the API returns: ``{"code", "message", "status"}``."""
        return {"code": self.code, "message": self.message, "status": self.status}
