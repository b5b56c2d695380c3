"""A tiny GPT-2 whose next token is (almost) a fixed function of the current one: a bigram "script".

A random tiny model rarely ends a sentence, so it cannot test stop-at-sentence-end, pairing or resume.
This one, saved like any checkpoint and loaded through ``models.teacher.load_teacher``, continues

    "... ." -> " The" -> (" sky" | " sea") -> " is" -> (" blue" | " grey" | " calm") -> "."

with equal odds at each fork (6 distinct first sentences), and after " is" it prefers a newline even more
strongly than the colours, so only the newline ban keeps it on script. How it works: attention and MLP
outputs are zeroed, so the hidden state is the current token's embedding; each scripted token's
embedding is a one-hot direction, and the (untied) output head maps that direction to its successors.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from tests.tiny_models import gpt2_tokenizer

FORKS = {
    ".": [" The"],
    " --": [" The"],
    " The": [" sky", " sea"],
    " sky": [" is"],
    " sea": [" is"],
    " is": [" blue", " grey", " calm"],
    " blue": ["."],
    " grey": ["."],
    " calm": ["."],
}
NEWLINE_PULL = 5.0  # logit weight of "\n" after " is" (the scripted forks get 3.0)
SENTENCES = {f"The {a} is {b}." for a in ("sky", "sea") for b in ("blue", "grey", "calm")}


def build_scripted_teacher(out_dir: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    tok = gpt2_tokenizer()
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=512,
        n_embd=32,
        n_layer=1,
        n_head=2,
        tie_word_embeddings=False,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    ids = {w: tok.encode(w)[0] for w in {*FORKS, *(n for succ in FORKS.values() for n in succ), "\n"}}
    direction = {w: i for i, w in enumerate(sorted(ids))}
    with torch.no_grad():
        for block in model.transformer.h:
            for proj in (block.attn.c_proj, block.mlp.c_proj):
                proj.weight.zero_()
                proj.bias.zero_()
        model.transformer.wpe.weight.zero_()
        model.transformer.ln_f.weight.fill_(1.0)
        model.transformer.ln_f.bias.zero_()
        head = model.lm_head.weight
        head.normal_(0.0, 0.02)
        for word, d in direction.items():
            model.transformer.wte.weight[ids[word]] = 0.0
            model.transformer.wte.weight[ids[word], d] = 4.0
        for word, successors in FORKS.items():
            for nxt in successors:
                head[ids[nxt], direction[word]] += 3.0
        head[ids["\n"], direction[" is"]] += NEWLINE_PULL
        # ballast, as in build_scripted_llama (after LayerNorm the unused dimension holds the same small
        # negative value for every scripted token, so all scripted rows shift alike, by about -1.8)
        for word in ids:
            head[ids[word], config.n_embd - 1] = 2.0 * NEWLINE_PULL
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


def build_scripted_llama(out_dir: Path, seed: int = 0) -> Path:
    """The same script as ``build_scripted_teacher`` in a tiny Llama (the architecture of SmolLM2), with
    attention and MLP outputs zeroed so the (RMS-normed) hidden state is the current token's embedding."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tok = gpt2_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    ids = {w: tok.encode(w)[0] for w in {*FORKS, *(n for succ in FORKS.values() for n in succ), "\n"}}
    direction = {w: i for i, w in enumerate(sorted(ids))}
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        head = model.lm_head.weight
        head.normal_(0.0, 0.02)
        embed = model.model.embed_tokens.weight
        for word, d in direction.items():
            embed[ids[word]] = 0.0
            embed[ids[word], d] = 4.0
        for word, successors in FORKS.items():
            for nxt in successors:
                head[ids[nxt], direction[word]] += 1.0  # x sqrt(32) after RMSNorm: ~5.7
        head[ids["\n"], direction[" is"]] += NEWLINE_PULL / 3.0
        # Ballast: a larger weight in a dimension no scripted token uses (its activation is 0, so the logits
        # are unchanged) sets each scripted row's int8 scale, so the scripted weight is not the row's
        # maximum. Without it, CTranslate2's int8 path on an AMD CPU (its default there is not MKL)
        # computed the "." logit after " grey" as 0.90 instead of 5.65 (MKL, or float32: 5.65), and the
        # script fell apart; the real SmolLM2 in int8 on the same CPU writes normal sentences
        # (benchmarks/bench_generate.py).
        for word in ids:
            head[ids[word], config.hidden_size - 1] = 2.0
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir
