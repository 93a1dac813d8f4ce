"""Tiny, deterministic Hugging Face classifiers built from a config and saved with
``save_pretrained`` (safetensors), so tests exercise the real loading code offline.

``build_tiny_model(tmp_path, arch="bert")`` returns the directory. The vocabulary is a small
word list plus the special tokens, so tokenisation is real but fast.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "the a an and or but not no very good bad great terrible movie film plot actor acting "
    "story fun boring love hate best worst is was it this that of in on to with for as "
    "cast scene music funny dull brilliant awful nice poor fine ok really quite too much "
    "is are be been he she they we you i my our their his her its . , ! ? ' - "
    "cat dog sat mat ran home red blue green big small old new"
).split()

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocab() -> list[str]:
    seen: dict[str, None] = {}
    for w in SPECIALS + WORDS + ["##s", "##ing", "##ed", "##ly"]:
        seen.setdefault(w, None)
    return list(seen)


def build_tiny_model(
    out_dir: str | Path,
    *,
    arch: str = "bert",
    num_labels: int = 2,
    layers: int = 2,
    heads: int = 2,
    hidden: int = 16,
    seed: int = 0,
    id2label: dict[int, str] | None = None,
) -> Path:
    """Build, seed and save a tiny ``arch`` sequence classifier with its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification, BertConfig, BertTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if arch != "bert":
        raise ValueError(f"tests.tiny_models: unknown arch {arch!r}")
    vocab = _vocab()
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    labels = id2label or {i: f"LABEL_{i}" for i in range(num_labels)}
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=64,
        num_labels=num_labels,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(config)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out
