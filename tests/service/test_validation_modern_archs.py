"""Upload validation of DeBERTa-v2/v3 (SentencePiece ``spm.model``) and ModernBERT (BPE
``tokenizer.json``) directories written by ``save_pretrained``, and what is refused, with why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.validation.errors import UploadRejected
from service.validation.limits import DEFAULT_LIMITS
from service.validation.model_files import validate_model_files
from service.validation.sources import DirectorySource
from tests.tiny_modern import build_tiny_modern


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("upload_modern")
    return {arch: build_tiny_modern(root / arch, arch=arch, seed=1)
            for arch in ("deberta-v2", "modernbert")}


def _copy(src: Path, dst: Path, drop: tuple[str, ...] = ()) -> Path:
    shutil.copytree(src, dst)
    for name in drop:
        (dst / name).unlink()
    return dst


def _reject(path: Path) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        validate_model_files(DirectorySource(path), DEFAULT_LIMITS)
    return info.value


def test_both_accepted(dirs):
    import sentencepiece as spm

    deb = validate_model_files(DirectorySource(dirs["deberta-v2"]), DEFAULT_LIMITS)
    assert (deb.architecture, deb.model_class) == ("deberta-v2", "DebertaV2ForSequenceClassification")
    assert "spm.model" in deb.files
    mb = validate_model_files(DirectorySource(dirs["modernbert"]), DEFAULT_LIMITS)
    assert (mb.architecture, mb.model_class) == ("modernbert", "ModernBertForSequenceClassification")
    assert (mb.num_layers, mb.num_heads) == (3, 2)
    # the hand-written protobuf reader counts what sentencepiece itself counts
    from service.validation.tokenizer_files import _sentencepiece

    pieces = _sentencepiece(DirectorySource(dirs["deberta-v2"]), "spm.model",
                            deb.vocab_size, DEFAULT_LIMITS)
    assert pieces == spm.SentencePieceProcessor(
        model_file=str(dirs["deberta-v2"] / "spm.model")).get_piece_size()


def test_spm_model_alone_is_a_tokenizer(dirs, tmp_path):
    d = _copy(dirs["deberta-v2"], tmp_path / "m", drop=("tokenizer.json",))
    assert validate_model_files(DirectorySource(d), DEFAULT_LIMITS).architecture == "deberta-v2"
    from attribution.model_loading import load_classifier

    lc = load_classifier(d)  # the loader converts spm.model itself
    assert lc.tokenizer.tokenize("the movie")[0].startswith("▁")


def test_broken_or_disguised_spm_model_refused(dirs, tmp_path):
    d = _copy(dirs["deberta-v2"], tmp_path / "trunc", drop=("tokenizer.json",))
    data = (d / "spm.model").read_bytes()
    (d / "spm.model").write_bytes(data[: len(data) // 2])
    assert _reject(d).code == "tokenizer_invalid"
    d2 = _copy(dirs["deberta-v2"], tmp_path / "pickle")
    (d2 / "spm.model").write_bytes(b"\x80\x04K\x01.")
    assert _reject(d2).code == "pickle_refused"
    d3 = _copy(dirs["deberta-v2"], tmp_path / "small", drop=("tokenizer.json",))
    cfg = json.loads((d3 / "config.json").read_text())
    (d3 / "config.json").write_text(json.dumps(dict(cfg, vocab_size=10)))
    err = _reject(d3)
    assert err.code == "tokenizer_invalid" and "embedding table" in str(err)


@pytest.mark.parametrize("model_type,arch,why", [
    ("deberta", "DebertaForSequenceClassification", "DeBERTa v1"),
    ("albert", "AlbertForSequenceClassification", "ALBERT"),
    ("mpnet", "MPNetForSequenceClassification", "MPNet"),
])
def test_unauditable_refused_with_the_reason(dirs, tmp_path, model_type, arch, why):
    d = _copy(dirs["deberta-v2"], tmp_path / model_type)
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(dict(cfg, model_type=model_type, architectures=[arch])))
    err = _reject(d)
    assert err.code == "unsupported_architecture" and why in str(err) and "modernbert" in str(err)
    from attribution.errors import ModelLoadError
    from attribution.model_loading import load_classifier

    with pytest.raises(ModelLoadError, match=why):  # the loader gives the same reason
        load_classifier(d)


def test_wrong_head_refused(dirs, tmp_path):
    d = _copy(dirs["modernbert"], tmp_path / "mlm")
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(dict(cfg, architectures=["ModernBertForMaskedLM"])))
    assert _reject(d).code == "unsupported_architecture"
