"""Model intake: every architecture loads; unsafe or unsuitable checkpoints are refused."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from attribution.errors import AttributionInputError, ModelLoadError
from attribution.model_loading import load_classifier, pick_device
from tests.tiny_models import ARCHS


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_loads(loaded, arch):
    lc = loaded[arch]
    assert lc.architecture == arch
    assert lc.labels == ["LABEL_0", "LABEL_1"]
    assert (lc.num_layers, lc.num_heads) == (2, 2)
    assert not lc.model.training
    assert lc.model.config._attn_implementation in ("eager", "attaudit_eager")
    assert lc.device == pick_device()
    assert len(lc.sha256) == 64


def test_sha256_is_content_hash(tiny_dirs, tmp_path):
    a = load_classifier(tiny_dirs["bert"]).sha256
    copy = shutil.copytree(tiny_dirs["bert"], tmp_path / "copy")
    assert load_classifier(copy).sha256 == a
    cfg = json.loads((copy / "config.json").read_text())
    cfg["id2label"] = {"0": "neg", "1": "pos"}
    cfg["label2id"] = {"neg": 0, "pos": 1}
    (copy / "config.json").write_text(json.dumps(cfg))
    lc = load_classifier(copy)
    assert lc.sha256 != a and lc.labels == ["neg", "pos"]


class _Bomb:
    """Unpickling this writes a marker file: proof that a checkpoint was deserialized."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled!"))


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.ckpt"])
def test_pickled_checkpoint_refused_never_unpickled(tiny_dirs, tmp_path, name):
    model_dir = tmp_path / "evil"
    shutil.copytree(tiny_dirs["bert"], model_dir)
    (model_dir / "model.safetensors").unlink()
    marker = tmp_path / "marker.txt"
    with open(model_dir / name, "wb") as f:
        pickle.dump({"state": _Bomb(marker)}, f)
    with pytest.raises(ModelLoadError, match="refusing to load pickled checkpoint") as err:
        load_classifier(model_dir)
    assert name in str(err.value)
    assert not marker.exists()


def test_missing_directory():
    with pytest.raises(ModelLoadError, match="not found"):
        load_classifier("/nonexistent/model/dir")


def test_file_instead_of_directory(tiny_dirs):
    with pytest.raises(ModelLoadError, match="is a file"):
        load_classifier(tiny_dirs["bert"] / "config.json")


def test_missing_tokenizer(tiny_dirs, tmp_path):
    d = tmp_path / "notok"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(tiny_dirs["bert"] / f, d / f)
    with pytest.raises(ModelLoadError, match="no tokenizer"):
        load_classifier(d)


def test_not_a_sequence_classifier(tmp_path):
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=16)
    BertModel(cfg).save_pretrained(tmp_path, safe_serialization=True)
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    with pytest.raises(ModelLoadError, match="not a sequence classifier"):
        load_classifier(tmp_path)


def test_unsupported_architecture(tiny_dirs, tmp_path):
    d = shutil.copytree(tiny_dirs["bert"], tmp_path / "gpt")
    cfg = json.loads((d / "config.json").read_text())
    cfg["model_type"] = "gpt2"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="unsupported architecture 'gpt2'.*bert"):
        load_classifier(d)


def test_missing_classifier_weights(tiny_dirs, tmp_path):
    from safetensors.torch import load_file, save_file

    d = shutil.copytree(tiny_dirs["bert"], tmp_path / "headless")
    weights = load_file(d / "model.safetensors")
    save_file({k: v for k, v in weights.items() if "classifier" not in k},
              d / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match="lacks weights"):
        load_classifier(d)


def test_errors_are_input_errors():
    assert issubclass(ModelLoadError, AttributionInputError)
    assert issubclass(AttributionInputError, ValueError)
    assert ModelLoadError.input_error is True


def test_pick_device():
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(AttributionInputError):
        pick_device("tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(AttributionInputError, match="CUDA is not available"):
            pick_device("cuda")
