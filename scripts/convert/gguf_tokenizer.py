"""Hugging Face tokenizer files from a GGUF vocabulary.

tokenizer.ggml.model = "gpt2": GPT-2 style byte-level BPE. The GGUF tokens are already in the
byte-to-unicode alphabet and its merges are "left right" strings in rank order. The pre-tokenizer
follows tokenizer.ggml.pre; only the types whose Hugging Face pre-tokenizer is a plain ByteLevel
with the GPT-2 regex are supported (smollm, gpt-2): others fail with a message naming the type
rather than tokenizing differently.

tokenizer.ggml.model = "llama": SentencePiece BPE (Gemma, Llama-2) given as pieces + scores, no
merges. llama.cpp's encoder replaces spaces by "▁" (after a "▁" prefix when
tokenizer.ggml.add_space_prefix is set), cuts out control and user-defined tokens first, then
merges the adjacent pair whose merged piece has the highest score, with <0xXX> byte fallback. The
tokenizer.json is the BPE equivalent transformers writes for such a model: merges derived from the
vocabulary ordered by the merged piece's score (sp_tokenizer's rule), byte_fallback, a Replace
(and Prepend) normalizer, no pre-tokenizer, the Replace/ByteFallback/Fuse decoder.

Token types 3 (control) and 4 (user defined) become added tokens (special for control).
"""
from __future__ import annotations

import json
import os

from gguf_weights import GGUFFile
from sp_tokenizer import sp_merges

_UNKNOWN, _CONTROL, _USER_DEFINED = 2, 3, 4
_BYTE_LEVEL_PRE = ("smollm", "gpt-2", "default")
_MODELS = ("gpt2", "llama")


def _added_tokens(tokens: list[str], types: list[int]) -> list[dict]:
    return [
        {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": types[i] in (_CONTROL, _UNKNOWN)}
        for i, tok in enumerate(tokens)
        if types[i] in (_CONTROL, _USER_DEFINED, _UNKNOWN)
    ]


def build_spm_tokenizer_json(g: GGUFFile) -> dict:
    tokens = g.field("tokenizer.ggml.tokens")
    types = g.field("tokenizer.ggml.token_type")
    scores = g.field("tokenizer.ggml.scores")
    if not (len(tokens) == len(types) == len(scores)):
        raise ValueError(f"{g.path}: tokenizer.ggml.tokens/token_type/scores have {len(tokens)}/{len(types)}/{len(scores)} entries")
    vocab = {tok: i for i, tok in enumerate(tokens)}
    # Only pieces the BPE can produce take part in merges (control/user-defined are cut out before it).
    mergeable = {tok: float(scores[i]) for i, tok in enumerate(tokens) if types[i] == 1}
    unk = g.reader.fields.get("tokenizer.ggml.unknown_token_id")
    bos = g.reader.fields.get("tokenizer.ggml.bos_token_id")
    normalizers = []
    if g.field("tokenizer.ggml.add_space_prefix", True):
        normalizers.append({"type": "Prepend", "prepend": "\u2581"})
    normalizers.append({"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"})
    post = None
    if bos is not None and g.field("tokenizer.ggml.add_bos_token", True):
        b = tokens[int(bos.contents())]
        post = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": b, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {b: {"id": b, "ids": [int(bos.contents())], "tokens": [b]}},
        }
    decoders = [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]
    if g.field("tokenizer.ggml.add_space_prefix", True):
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": _added_tokens(tokens, types),
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,
        "post_processor": post,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": tokens[int(unk.contents())] if unk is not None else None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": sp_merges(vocab, mergeable),
        },
    }


def build_tokenizer_json(g: GGUFFile) -> dict:
    model = g.field("tokenizer.ggml.model")
    if model not in _MODELS:
        raise ValueError(f"{g.path}: tokenizer.ggml.model {model!r} is not supported (supported: {', '.join(_MODELS)})")
    if model == "llama":
        return build_spm_tokenizer_json(g)
    pre = g.field("tokenizer.ggml.pre", "default")
    if pre not in _BYTE_LEVEL_PRE:
        raise ValueError(f"{g.path}: tokenizer.ggml.pre {pre!r} is not supported (supported: {', '.join(_BYTE_LEVEL_PRE)})")
    tokens = g.field("tokenizer.ggml.tokens")
    types = g.field("tokenizer.ggml.token_type")
    merges = [m.split(" ", 1) for m in g.field("tokenizer.ggml.merges")]
    added = _added_tokens(tokens, types)
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


def _tokenizer_class(g: GGUFFile) -> str:
    if g.field("tokenizer.ggml.model") == "gpt2":
        return "GPT2Tokenizer"
    return "GemmaTokenizer" if str(g.field("general.architecture")).startswith("gemma") else "LlamaTokenizer"


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
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": types[i] in (_CONTROL, _UNKNOWN)}
            for i, t in enumerate(tokens)
            if types[i] in (_CONTROL, _USER_DEFINED, _UNKNOWN)
        },
        "bos_token": tok("tokenizer.ggml.bos_token_id"),
        "clean_up_tokenization_spaces": False,
        "eos_token": tok("tokenizer.ggml.eos_token_id"),
        "model_max_length": context_length,
        "pad_token": tok("tokenizer.ggml.padding_token_id"),
        "tokenizer_class": _tokenizer_class(g),
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
