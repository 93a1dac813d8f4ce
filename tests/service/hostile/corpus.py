"""The hostile-upload corpus, built from scratch by the tests: every case is a builder, the
refusal code it must get, and (optionally) the limits under which it is hostile.

A builder takes ``(work_dir, valid_model_dir, ctx)`` and returns the upload path; ``ctx`` holds
paths the attack targets (``outside``: a directory an escape would write to; ``marker``: the file
an armed pickle would create), so the tests can check that nothing appeared.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from service.validation import DEFAULT_LIMITS, UploadLimits
from tests.service.hostile.pickles import armed_pickle

MB = 1024 * 1024


@dataclass
class Ctx:
    outside: Path   # an escape target outside the storage dir
    marker: Path    # created if an armed pickle is ever loaded


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    build: Callable[[Path, Path, Ctx], Path]
    limits: dict = field(default_factory=dict)

    def upload_limits(self) -> UploadLimits:
        return replace(DEFAULT_LIMITS, **self.limits)


# ---- archive writers --------------------------------------------------------------------------

def model_files(model: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(model.iterdir()) if p.is_file()}


def write_zip(out: Path, files: dict[str, bytes], *, prefix: str = "model/") -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(prefix + name if not name.startswith(("/", "..")) else name, data)
    return out


def write_tar(out: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo] = (), *, prefix: str = "model/") -> Path:
    with tarfile.open(out, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in extra:
            tf.addfile(info)
    return out


def _with(model: Path, **changes: bytes | None) -> dict[str, bytes]:
    files = model_files(model)
    for name, data in changes.items():
        name = name.replace("__", ".")
        if data is None:
            files.pop(name, None)
        else:
            files[name] = data
    return files


def _config(model: Path, **edit) -> bytes:
    cfg = json.loads((model / "config.json").read_text())
    cfg.update(edit)
    return json.dumps(cfg).encode()


def _tar_member(name: str, kind: bytes, **attrs) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for k, v in attrs.items():
        setattr(info, k, v)
    return info


def _safetensors(header: dict, data_len: int, *, claimed_len: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    n = len(raw) if claimed_len is None else claimed_len
    return n.to_bytes(8, "little") + raw + b"\x00" * data_len


# ---- model archive cases ----------------------------------------------------------------------

def _zip_symlink(w: Path, m: Path, c: Ctx) -> Path:
    out = write_zip(w / "up.zip", model_files(m))
    with zipfile.ZipFile(out, "a") as zf:
        info = zipfile.ZipInfo("model/evil_link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, str(c.outside / "pwned"))
    return out


def _torch_zip(w: Path, m: Path, c: Ctx) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # the layout torch.save writes: a zip holding data.pkl
        zf.writestr("archive/data.pkl", armed_pickle(c.marker))
    return write_zip(w / "up.zip", _with(m, model__safetensors=buf.getvalue()))


def _many_members(w: Path, m: Path, c: Ctx) -> Path:
    files = model_files(m) | {f"pad{i:05d}.json": b"{}" for i in range(5000)}
    return write_tar(w / "up.tar.gz", files)


def _zip_bomb(w: Path, m: Path, c: Ctx) -> Path:
    return write_zip(w / "up.zip", model_files(m) | {"tokenizer_config.json": b" " * (64 * MB)})


def _lying_safetensors(header: dict, data_len: int, claimed: int | None = None):
    return lambda w, m, c: write_zip(w / "up.zip", _with(m, model__safetensors=_safetensors(header, data_len, claimed_len=claimed)))


def _panicking_tokenizer(w: Path, m: Path, c: Ctx) -> Path:
    """tokenizer.json whose normalizer makes the Rust library panic at load (a real
    ``pyo3_runtime.PanicException``, a ``BaseException``): a Precompiled charsmap whose declared
    trie size runs past its data. The JSON parser finds nothing wrong with it."""
    import base64

    tok = json.loads((m / "tokenizer.json").read_text())
    charsmap = (1000).to_bytes(4, "little") + b"\x00" * 8
    tok["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()}
    return write_zip(w / "up.zip", _with(m, tokenizer__json=json.dumps(tok).encode()))


def _tokenizer_panics_on_text(w: Path, m: Path, c: Ctx) -> Path:
    """tokenizer.json that loads fine but panics while encoding an ordinary sentence: a Split
    pre-tokenizer whose regex backtracks catastrophically, so Oniguruma's retry limit makes the
    Rust library panic (``Onig: Regex search error: retry-limit-in-match over``)."""
    tok = json.loads((m / "tokenizer.json").read_text())
    tok["pre_tokenizer"] = {"type": "Split", "pattern": {"Regex": "(\\w+\\s?)+$"},
                            "behavior": "Isolated", "invert": False}
    return write_zip(w / "up.zip", _with(m, tokenizer__json=json.dumps(tok).encode()))


def _tokenizer_pads_to_2e9(w: Path, m: Path, c: Ctx) -> Path:
    """tokenizer.json asking for fixed padding to 2e9 tokens: every encode allocates ~100 GB."""
    tok = json.loads((m / "tokenizer.json").read_text())
    tok["padding"] = {"strategy": {"Fixed": 2_000_000_000}, "direction": "Right", "pad_to_multiple_of": None,
                      "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
    return write_zip(w / "up.zip", _with(m, tokenizer__json=json.dumps(tok).encode()))


def _tensor_renamed(m: Path, old: str, new: str) -> bytes:
    """model.safetensors with one tensor renamed (same bytes, header rewritten)."""
    data = (m / "model.safetensors").read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    header = {(k.replace(old, new) if k != "__metadata__" else k): v for k, v in header.items()}
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[8 + n :]


def _int_weights(m: Path) -> bytes:
    """model.safetensors with the classifier weight declared I32 (same byte size as F32)."""
    data = (m / "model.safetensors").read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    name = next(k for k in header if k.endswith("classifier.weight"))
    header[name]["dtype"] = "I32"
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[8 + n :]


def _slow_tar(w: Path, m: Path, c: Ctx) -> Path:
    """A legitimate tar.gz with 60 MB of incompressible padding: reading it takes longer than a
    validation budget of 50 ms, and the validator must stop at the budget, not at the end."""
    return write_tar(w / "up.tar.gz", model_files(m) | {"README.md": os.urandom(60 * MB)})


F32_4 = {"dtype": "F32", "shape": [4]}
MODEL_CASES: list[Case] = [
    Case("config_lying_layers", "config_mismatch",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, num_hidden_layers=100000))),
         {"max_model_memory_bytes": 2**62}),
    Case("config_lying_layers_memory", "model_too_large",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, num_hidden_layers=100000)))),
    Case("config_lying_vocab", "model_too_large",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, vocab_size=2_000_000_000)))),
    Case("config_lying_vocab_shapes", "config_mismatch",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, vocab_size=2_000_000_000))),
         {"max_model_memory_bytes": 2**62}),
    Case("config_lying_hidden", "config_mismatch",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, hidden_size=64, num_attention_heads=2)))),
    Case("config_lying_positions", "config_mismatch",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, max_position_embeddings=4096)))),
    Case("config_lying_labels", "config_mismatch",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, num_labels=5, id2label={str(i): f"L{i}" for i in range(5)}, label2id={f"L{i}": i for i in range(5)})))),
    Case("config_heads_not_dividing", "config_invalid",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, num_attention_heads=7)))),
    Case("weights_missing_layer", "config_mismatch",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, model__safetensors=_tensor_renamed(m, "layer.1.", "layer.7.")))),
    Case("weights_integer_dtype", "config_mismatch",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, model__safetensors=_int_weights(m)))),
    Case("tokenizer_panics_at_load", "tokenizer_load_failed", _panicking_tokenizer),
    Case("tokenizer_panics_on_text", "tokenizer_load_failed", _tokenizer_panics_on_text),
    Case("tokenizer_exhausts_memory", "tokenizer_load_failed", _tokenizer_pads_to_2e9),
    Case("validation_over_time_budget", "validation_timeout", _slow_tar,
         {"max_validation_seconds": 0.05, "max_member_bytes": 100 * MB}),
    Case("pickle_bin_next_to_weights", "pickle_refused",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m) | {"pytorch_model.bin": armed_pickle(c.marker)})),
    Case("pickle_only_checkpoint", "pickle_refused",
         lambda w, m, c: write_tar(w / "up.tar.gz", _with(m, model__safetensors=None) | {"model.ckpt": armed_pickle(c.marker)})),
    Case("pickle_renamed_safetensors", "pickle_refused",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, model__safetensors=armed_pickle(c.marker)))),
    Case("torch_zip_renamed_safetensors", "pickle_refused", _torch_zip),
    Case("zip_slip", "archive_path_traversal",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m) | {"../../../outside/pwned": b"x"})),
    Case("zip_slip_backslash", "archive_path_traversal",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m) | {"..\\..\\..\\outside\\pwned": b"x"})),
    Case("tar_traversal", "archive_path_traversal",
         lambda w, m, c: write_tar(w / "up.tar.gz", model_files(m) | {"../../../outside/pwned": b"x"}, prefix="")),
    Case("zip_absolute_path", "archive_absolute_path",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m) | {str(c.outside / "pwned"): b"x"})),
    Case("tar_absolute_path", "archive_absolute_path",
         lambda w, m, c: write_tar(w / "up.tar.gz", model_files(m) | {str(c.outside / "pwned"): b"x"}, prefix="")),
    Case("tar_symlink_out", "archive_link",
         lambda w, m, c: write_tar(w / "up.tar.gz", _with(m, vocab__txt=None), [_tar_member("model/vocab.txt", tarfile.SYMTYPE, linkname=str(c.outside / "secret"))])),
    Case("tar_hardlink_out", "archive_link",
         lambda w, m, c: write_tar(w / "up.tar.gz", model_files(m), [_tar_member("model/passwd", tarfile.LNKTYPE, linkname="/etc/passwd")])),
    Case("zip_symlink_out", "archive_link", _zip_symlink),
    Case("tar_char_device", "archive_special_file",
         lambda w, m, c: write_tar(w / "up.tar.gz", model_files(m), [_tar_member("model/null", tarfile.CHRTYPE, devmajor=1, devminor=3)])),
    Case("tar_fifo", "archive_special_file",
         lambda w, m, c: write_tar(w / "up.tar.gz", model_files(m), [_tar_member("model/pipe", tarfile.FIFOTYPE)])),
    Case("zip_bomb_high_ratio", "archive_bomb", _zip_bomb),
    Case("tar_bomb_many_members", "archive_too_many_members", _many_members),
    Case("oversize_member", "archive_member_too_large",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m) | {"README.md": os.urandom(2 * MB)}),
         {"max_member_bytes": 1 * MB}),
    Case("oversize_total", "archive_too_large",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m) | {"README.md": os.urandom(MB // 2)}),
         {"max_total_bytes": MB // 2}),
    Case("oversize_upload", "upload_too_large",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m)), {"max_upload_bytes": 4096}),
    Case("model_over_parameter_limit", "model_too_large",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m)), {"max_parameters": 1000}),
    Case("config_auto_map", "remote_code_refused",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, auto_map={"AutoModelForSequenceClassification": "evil.EvilModel"})) | {"README.md": b"see evil.py"})),
    Case("config_trust_remote_code", "remote_code_refused",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, trust_remote_code=True)))),
    Case("tokenizer_config_auto_map", "remote_code_refused",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, tokenizer_config__json=json.dumps({"auto_map": {"AutoTokenizer": ["evil.Tok", None]}}).encode()))),
    Case("custom_code_file", "model_file_unexpected",
         lambda w, m, c: write_zip(w / "up.zip", model_files(m) | {"modeling_evil.py": b"import os; os.system('id')"})),
    Case("unsupported_model_type", "unsupported_architecture",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, model_type="gpt2")))),
    Case("not_a_sequence_classifier", "unsupported_architecture",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, architectures=["BertForMaskedLM"])))),
    Case("config_labels_inconsistent", "config_invalid",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=_config(m, id2label={"0": "a", "5": "b"})))),
    Case("absurd_vocab", "tokenizer_vocab_too_large",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, tokenizer__json=None, vocab__txt="\n".join(f"t{i}" for i in range(1_200_000)).encode()))),
    Case("vocab_beyond_embeddings", "tokenizer_invalid",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, tokenizer__json=None, vocab__txt="\n".join(f"t{i}" for i in range(5000)).encode()))),
    Case("no_tokenizer", "tokenizer_missing",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, tokenizer__json=None, vocab__txt=None))),
    Case("no_config", "config_missing", lambda w, m, c: write_zip(w / "up.zip", _with(m, config__json=None))),
    Case("no_weights", "model_weights_missing", lambda w, m, c: write_zip(w / "up.zip", _with(m, model__safetensors=None))),
    Case("safetensors_header_len_beyond_file", "safetensors_header_invalid",
         _lying_safetensors({"w": {**F32_4, "data_offsets": [0, 16]}}, 16, claimed=10**6)),
    Case("safetensors_header_len_huge", "safetensors_header_invalid",
         _lying_safetensors({"w": {**F32_4, "data_offsets": [0, 16]}}, 16, claimed=2**63)),
    Case("safetensors_offsets_beyond_file", "safetensors_header_invalid",
         _lying_safetensors({"w": {**F32_4, "data_offsets": [0, 1 << 40]}}, 16)),
    Case("safetensors_overlapping_tensors", "safetensors_header_invalid",
         _lying_safetensors({"a": {**F32_4, "data_offsets": [0, 16]}, "b": {**F32_4, "data_offsets": [8, 24]}}, 24)),
    Case("safetensors_shape_size_mismatch", "safetensors_header_invalid",
         _lying_safetensors({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 16]}}, 16)),
    Case("safetensors_gap", "safetensors_header_invalid",
         _lying_safetensors({"a": {**F32_4, "data_offsets": [0, 16]}, "b": {**F32_4, "data_offsets": [32, 48]}}, 48)),
    Case("safetensors_not_json", "safetensors_header_invalid",
         lambda w, m, c: write_zip(w / "up.zip", _with(m, model__safetensors=(9).to_bytes(8, "little") + b"{not json" + b"\x00" * 8))),
    Case("not_an_archive", "archive_format",
         lambda w, m, c: (w / "up.zip").write_bytes(os.urandom(4096)) and w / "up.zip"),
    Case("truncated_tar_gz", "archive_corrupt",
         lambda w, m, c: _truncate(write_tar(w / "up.tar.gz", model_files(m)))),
    Case("duplicate_member", "archive_duplicate_member",
         lambda w, m, c: write_tar(w / "up.tar.gz", model_files(m), [_tar_member("model/./config.json", tarfile.REGTYPE)])),
]


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
