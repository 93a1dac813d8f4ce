"""Tiny DeBERTa-v2/v3 and ModernBERT classifiers (next to ``tests/tiny_models.py``).

Built from a config, seeded, saved with ``save_pretrained`` (safetensors) with a real tokenizer,
so tests load them back through ``attribution.model_loading.load_classifier`` on transformers
4.x and 5.x alike:

* ``deberta-v2``: a DeBERTa-v3-style config (relative attention with log position buckets,
  ``share_att_key``, c2p + p2c terms, layer-normed relative embeddings, no absolute positions),
  with a SentencePiece Unigram model trained here and shipped as ``spm.model`` (a protobuf, as
  real DeBERTa-v3 checkpoints ship it) whose word starts are ``▁``. ``deberta_variant="v2"``
  gives the v2-xlarge style instead (separate positional projections, a convolution layer).
* ``modernbert``: alternating global and sliding-window layers (``global_attn_every_n_layers=2``,
  a window of 4 so it bites on short test sentences), RoPE with two thetas, mean or CLS pooling,
  and a byte-level BPE ``tokenizer.json`` whose word starts are ``Ġ``.
"""

from __future__ import annotations

import io
from pathlib import Path

from tests.tiny_models import MAX_POSITIONS, WORDS

MODERN_ARCHS = ("deberta-v2", "modernbert")


def _spm_model(out: Path) -> Path:
    """Train a tiny SentencePiece Unigram model; write ``spm.model`` (DeBERTa-v3 ids)."""
    import sentencepiece as spm

    words = list(dict.fromkeys(w.lower() for w in WORDS))
    corpus = [" ".join(words), " ".join(w + "s" for w in words), " ".join(reversed(words))] * 8
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=buf, vocab_size=160, model_type="unigram",
        pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]",
        unk_id=3, unk_piece="[UNK]", user_defined_symbols=["[MASK]"], hard_vocab_limit=False,
        character_coverage=1.0, minloglevel=2, num_threads=1,
    )
    path = out / "spm.model"
    path.write_bytes(buf.getvalue())
    return path


def _deberta_tokenizer(out: Path):
    import transformers as tf

    _spm_model(out)
    specials = dict(do_lower_case=False, bos_token="[CLS]", eos_token="[SEP]", unk_token="[UNK]",
                    sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    # both majors convert spm.model themselves (4.x: the fast class; 5.x: DebertaV2Tokenizer)
    cls = getattr(tf, "DebertaV2TokenizerFast", None) or tf.DebertaV2Tokenizer
    tok = cls.from_pretrained(str(out), **specials)
    return tok, len(tok)


def _bpe_tokenizer(out: Path):
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"]
    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    corpus = [" ".join(WORDS), " ".join(w + "s" for w in WORDS)] * 4
    bpe.train_from_iterator(corpus, vocab_size=700, min_frequency=1, special_tokens=specials,
                            show_progress=False)
    model = bpe._tokenizer
    ids = {t: model.token_to_id(t) for t in specials}
    model.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tok = PreTrainedTokenizerFast(tokenizer_object=model, cls_token="[CLS]", sep_token="[SEP]",
                                  pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]",
                                  model_input_names=["input_ids", "attention_mask"])
    return tok, model.get_vocab_size(), ids


def build_tiny_modern(
    out_dir: str | Path,
    *,
    arch: str = "deberta-v2",
    num_labels: int = 2,
    layers: int = 3,
    heads: int = 2,
    hidden: int = 16,
    seed: int = 0,
    id2label: dict[int, str] | None = None,
    init_std: float = 0.2,
    deberta_variant: str = "v3",
    pooling: str = "mean",
    local_attention: int = 4,
) -> Path:
    """Build, seed and save a tiny DeBERTa-v2/v3 or ModernBERT classifier with its tokenizer."""
    import torch
    import transformers as tf

    if arch not in MODERN_ARCHS:
        raise ValueError(f"tests.tiny_modern: unknown arch {arch!r}; valid: {MODERN_ARCHS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = id2label or {i: f"LABEL_{i}" for i in range(num_labels)}
    common = dict(num_labels=num_labels, id2label=labels, label2id={v: k for k, v in labels.items()},
                  initializer_range=init_std, hidden_size=hidden, num_hidden_layers=layers,
                  num_attention_heads=heads, intermediate_size=hidden * 2)
    if arch == "deberta-v2":
        tok, n = _deberta_tokenizer(out)
        v3 = deberta_variant == "v3"
        config = tf.DebertaV2Config(
            vocab_size=n, max_position_embeddings=MAX_POSITIONS, relative_attention=True,
            position_buckets=8, max_relative_positions=-1, pos_att_type=["p2c", "c2p"],
            share_att_key=v3, norm_rel_ebd="layer_norm", position_biased_input=False,
            type_vocab_size=0, conv_kernel_size=0 if v3 else 3, conv_act="gelu",
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pooler_dropout=0.0,
            pooler_hidden_size=hidden, pad_token_id=0, **common,
        )
    else:
        tok, n, ids = _bpe_tokenizer(out)
        config = tf.ModernBertConfig(
            vocab_size=n, max_position_embeddings=MAX_POSITIONS, global_attn_every_n_layers=2,
            local_attention=local_attention, global_rope_theta=160000.0, local_rope_theta=10000.0,
            attention_dropout=0.0, embedding_dropout=0.0, mlp_dropout=0.0, classifier_dropout=0.0,
            classifier_pooling=pooling, reference_compile=False, pad_token_id=ids["[PAD]"],
            cls_token_id=ids["[CLS]"], sep_token_id=ids["[SEP]"], bos_token_id=ids["[CLS]"],
            eos_token_id=ids["[SEP]"], **common,
        )
    tok.model_max_length = MAX_POSITIONS
    torch.manual_seed(seed)
    model = tf.AutoModelForSequenceClassification.from_config(config)
    if init_std > 0.05:  # ModernBERT's own init scales some weights down; make attention peaked
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() == 2 and ("Wqkv" in name or "query" in name or "key" in name):
                    p.normal_(0.0, init_std)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out
