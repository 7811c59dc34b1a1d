"""Hugging Face tokenizer files from a GGUF vocabulary (tokenizer.ggml.model = "gpt2").

GPT-2 style byte-level BPE: the GGUF tokens are already in the byte-to-unicode alphabet and its
merges are "left right" strings in rank order. Token type 3 (control) and 4 (user defined) become
added tokens (special for control). The pre-tokenizer follows tokenizer.ggml.pre; only the types
whose Hugging Face pre-tokenizer is a plain ByteLevel with the GPT-2 regex are supported (smollm,
gpt-2): others fail with a message naming the type rather than tokenizing differently.
"""
from __future__ import annotations

import json
import os

from gguf_weights import GGUFFile

_CONTROL, _USER_DEFINED = 3, 4
_BYTE_LEVEL_PRE = ("smollm", "gpt-2", "default")


def build_tokenizer_json(g: GGUFFile) -> dict:
    model = g.field("tokenizer.ggml.model")
    if model != "gpt2":
        raise ValueError(f"{g.path}: tokenizer.ggml.model {model!r} is not supported (gpt2 only)")
    pre = g.field("tokenizer.ggml.pre", "default")
    if pre not in _BYTE_LEVEL_PRE:
        raise ValueError(f"{g.path}: tokenizer.ggml.pre {pre!r} is not supported (supported: {', '.join(_BYTE_LEVEL_PRE)})")
    tokens = g.field("tokenizer.ggml.tokens")
    types = g.field("tokenizer.ggml.token_type")
    merges = [m.split(" ", 1) for m in g.field("tokenizer.ggml.merges")]
    added = [
        {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": types[i] == _CONTROL}
        for i, tok in enumerate(tokens)
        if types[i] in (_CONTROL, _USER_DEFINED)
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": {tok: i for i, tok in enumerate(tokens)},
            "merges": merges,
        },
    }


def build_tokenizer_config(g: GGUFFile, context_length: int) -> dict:
    tokens = g.field("tokenizer.ggml.tokens")
    types = g.field("tokenizer.ggml.token_type")

    def tok(key: str):
        f = g.reader.fields.get(key)
        return tokens[int(f.contents())] if f is not None else None

    cfg = {
        "add_bos_token": bool(g.field("tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": bool(g.field("tokenizer.ggml.add_eos_token", False)),
        "added_tokens_decoder": {
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": types[i] == _CONTROL}
            for i, t in enumerate(tokens)
            if types[i] in (_CONTROL, _USER_DEFINED)
        },
        "bos_token": tok("tokenizer.ggml.bos_token_id"),
        "clean_up_tokenization_spaces": False,
        "eos_token": tok("tokenizer.ggml.eos_token_id"),
        "model_max_length": context_length,
        "pad_token": tok("tokenizer.ggml.padding_token_id"),
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": tok("tokenizer.ggml.unknown_token_id"),
    }
    template = g.reader.fields.get("tokenizer.chat_template")
    if template is not None:
        cfg["chat_template"] = template.contents()
    return cfg


def write_tokenizer(g: GGUFFile, out_dir: str, context_length: int) -> None:
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(build_tokenizer_json(g), f, ensure_ascii=False, indent=2)
        f.write("\n")
    cfg = build_tokenizer_config(g, context_length)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
        f.write("\n")
    if "chat_template" in cfg:
        with open(os.path.join(out_dir, "chat_template.jinja"), "w", encoding="utf-8") as f:
            f.write(cfg["chat_template"])
