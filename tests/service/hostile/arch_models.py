"""Tiny saved classifiers for every architecture the validator accepts.

Uses ``tests.tiny_models.build_tiny_model`` when it knows the architecture and otherwise builds
one here from a config and a real (tiny) tokenizer: WordPiece for DistilBERT/ELECTRA,
byte-level BPE (vocab.json + merges.txt) for RoBERTa, Unigram (tokenizer.json) for XLM-R.
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_models import WORDS, build_tiny_model

ARCHS = ("bert", "distilbert", "electra", "roberta", "xlm-roberta")
BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _corpus() -> list[str]:
    return [" ".join(WORDS[i : i + 8]) for i in range(0, len(WORDS), 3)]


def _tokenizer(arch: str, out: Path):
    from transformers import (
        BertTokenizerFast,
        DistilBertTokenizerFast,
        ElectraTokenizerFast,
        RobertaTokenizerFast,
        XLMRobertaTokenizerFast,
    )

    if arch in ("distilbert", "electra"):
        bert = BertTokenizerFast.from_pretrained(build_tiny_model(out / "_bert", arch="bert"))
        cls = DistilBertTokenizerFast if arch == "distilbert" else ElectraTokenizerFast
        vocab = out / "_vocab.txt"
        vocab.write_text("\n".join(bert.convert_ids_to_tokens(list(range(bert.vocab_size)))) + "\n")
        return cls(vocab_file=str(vocab), do_lower_case=True)
    if arch == "roberta":
        from tokenizers import ByteLevelBPETokenizer

        bpe = ByteLevelBPETokenizer()
        bpe.train_from_iterator(_corpus(), vocab_size=300, min_frequency=1, special_tokens=BPE_SPECIALS)
        bpe.save_model(str(out), "_bpe")
        return RobertaTokenizerFast(vocab_file=str(out / "_bpe-vocab.json"), merges_file=str(out / "_bpe-merges.txt"))
    from tokenizers import SentencePieceUnigramTokenizer

    uni = SentencePieceUnigramTokenizer()
    uni.train_from_iterator(_corpus(), vocab_size=120, special_tokens=BPE_SPECIALS, unk_token="<unk>")
    return XLMRobertaTokenizerFast(tokenizer_object=uni._tokenizer, bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def _config(arch: str, vocab_size: int, num_labels: int):
    from transformers import DistilBertConfig, ElectraConfig, RobertaConfig, XLMRobertaConfig

    labels = {i: f"LABEL_{i}" for i in range(num_labels)}
    common = dict(vocab_size=vocab_size, id2label=labels, label2id={v: k for k, v in labels.items()})
    if arch == "distilbert":
        return DistilBertConfig(dim=16, n_layers=2, n_heads=2, hidden_dim=32, max_position_embeddings=64, **common)
    sizes = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    if arch == "electra":
        return ElectraConfig(embedding_size=16, max_position_embeddings=64, **sizes, **common)
    cls = RobertaConfig if arch == "roberta" else XLMRobertaConfig
    return cls(max_position_embeddings=66, pad_token_id=1, bos_token_id=0, eos_token_id=2, **sizes, **common)


def build_arch_model(out_dir: str | Path, arch: str, num_labels: int = 2) -> Path:
    """Save a tiny ``arch`` sequence classifier (config, safetensors, tokenizer) in ``out_dir``."""
    out = Path(out_dir)
    try:
        return build_tiny_model(out, arch=arch, num_labels=num_labels)
    except ValueError:
        pass  # tests.tiny_models does not know this architecture: build it here
    import shutil

    import torch
    from transformers import AutoModelForSequenceClassification

    work = out.parent / f"_{out.name}_work"
    work.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(arch, work)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(_config(arch, len(tok), num_labels))
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    shutil.rmtree(work)
    return out
