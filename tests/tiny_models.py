"""Tiny, deterministic Hugging Face classifiers built from a config and saved with
``save_pretrained`` (safetensors), so tests exercise the real loading code offline.

``build_tiny_model(tmp_path, arch="bert")`` returns the directory; ``arch`` is one of
``ARCHS``. Tokenizers are built offline from a small word list: WordPiece (BERT, DistilBERT,
ELECTRA), byte-level BPE trained on the word list (RoBERTa, saved as vocab.json/merges.txt) and
a ``tokenizers`` Unigram model (XLM-RoBERTa), so tokenisation is real but fast.
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
ARCHS = ("bert", "roberta", "distilbert", "electra", "xlm-roberta")
MAX_POSITIONS = 64


def _vocab() -> list[str]:
    seen: dict[str, None] = {}
    for w in SPECIALS + WORDS + ["##s", "##ing", "##ed", "##ly"]:
        seen.setdefault(w, None)
    return list(seen)


def _wrap(cls, model, **specials):
    """A transformers fast tokenizer around a ``tokenizers`` object (works on 4.x and 5.x)."""
    return cls(tokenizer_object=model, **specials)


def _wordpiece(out: Path, cls):
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = _vocab()
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n")
    ids = {w: i for i, w in enumerate(vocab)}
    model = Tokenizer(WordPiece(ids, unk_token="[UNK]"))
    model.normalizer = normalizers.BertNormalizer(lowercase=True)
    model.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    model.decoder = decoders.WordPiece()
    model.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tok = _wrap(cls, model, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                cls_token="[CLS]", mask_token="[MASK]")
    return tok, len(vocab)


def _byte_bpe(out: Path):
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import RobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    corpus = [" ".join(WORDS), " ".join(w + "s" for w in WORDS)] * 4
    bpe.train_from_iterator(corpus, vocab_size=400, min_frequency=1, special_tokens=specials,
                            show_progress=False)
    bpe.save_model(str(out))  # vocab.json + merges.txt: the files RoBERTa checkpoints ship
    bpe = ByteLevelBPETokenizer(str(out / "vocab.json"), str(out / "merges.txt"),
                                add_prefix_space=True)
    model = bpe._tokenizer
    model.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok = _wrap(RobertaTokenizerFast, model, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    return tok, model.get_vocab_size()


def _unigram(out: Path):
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import XLMRobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    words = list(dict.fromkeys(w.lower() for w in WORDS))
    chars = sorted({c for w in words for c in w})
    pieces = [(s, 0.0) for s in specials] + [("▁" + w, -2.0 - 0.1 * i) for i, w in
                                             enumerate(words)]
    pieces += [("▁", -8.0)] + [(c, -10.0) for c in chars] + [("s", -6.0), ("<mask>", 0.0)]
    model = Tokenizer(Unigram(pieces, unk_id=3))
    model.normalizer = normalizers.Lowercase()
    model.pre_tokenizer = pre_tokenizers.Metaspace()
    model.decoder = decoders.Metaspace()
    model.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    tok = _wrap(XLMRobertaTokenizerFast, model, bos_token="<s>", eos_token="</s>",
                                  sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                                  pad_token="<pad>", mask_token="<mask>")
    return tok, len(pieces)


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
    init_std: float = 0.02,
) -> Path:
    """Build, seed and save a tiny ``arch`` sequence classifier with its tokenizer.

    ``init_std`` is the weights' initializer range: ~0.3 gives peaked attention and outputs far
    from uniform, so attribution tests measure something.
    """
    import torch
    import transformers as tf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if arch not in ARCHS:
        raise ValueError(f"tests.tiny_models: unknown arch {arch!r}; valid: {', '.join(ARCHS)}")
    labels = id2label or {i: f"LABEL_{i}" for i in range(num_labels)}
    common = dict(num_labels=num_labels, id2label=labels, initializer_range=init_std,
                  label2id={v: k for k, v in labels.items()})
    bert_like = dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=hidden * 2, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0, **common)
    if arch == "bert":
        tok, n = _wordpiece(out, tf.BertTokenizerFast)
        config = tf.BertConfig(vocab_size=n, max_position_embeddings=MAX_POSITIONS, **bert_like)
    elif arch == "electra":
        tok, n = _wordpiece(out, tf.ElectraTokenizerFast)
        config = tf.ElectraConfig(vocab_size=n, embedding_size=max(hidden // 2, 4),
                                  max_position_embeddings=MAX_POSITIONS, **bert_like)
    elif arch == "distilbert":
        tok, n = _wordpiece(out, tf.DistilBertTokenizerFast)
        config = tf.DistilBertConfig(vocab_size=n, dim=hidden, n_layers=layers, n_heads=heads,
                                     hidden_dim=hidden * 2, dropout=0.0, attention_dropout=0.0,
                                     seq_classif_dropout=0.0,
                                     max_position_embeddings=MAX_POSITIONS, **common)
    else:
        tok, n = _byte_bpe(out) if arch == "roberta" else _unigram(out)
        cls = tf.RobertaConfig if arch == "roberta" else tf.XLMRobertaConfig
        config = cls(vocab_size=n, max_position_embeddings=MAX_POSITIONS + 2, type_vocab_size=1,
                     pad_token_id=1, bos_token_id=0, eos_token_id=2, **bert_like)
    tok.model_max_length = MAX_POSITIONS
    torch.manual_seed(seed)
    model = tf.AutoModelForSequenceClassification.from_config(config)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def build_constant_model(out_dir: str | Path, *, arch: str = "bert") -> Path:
    """A tiny classifier whose output weights are zero: the same probabilities for every input
    (leave-one-out importance and input gradients are all ties), a real model, not a mock."""
    import torch
    import transformers as tf

    out = build_tiny_model(out_dir, arch=arch)
    model = tf.AutoModelForSequenceClassification.from_pretrained(out)
    head = model.classifier.out_proj if hasattr(model.classifier, "out_proj") else model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.3, -0.3]))
    model.save_pretrained(out, safe_serialization=True)
    return out
