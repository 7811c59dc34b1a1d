"""Build a Hugging Face `tokenizer.json` (+ tokenizer_config.json) from a SentencePiece BPE model.

The layout is the one transformers' LlamaTokenizerFast exports for a SentencePiece BPE model with
byte fallback (legacy mode, as in ../shared/models/ortgenai-tiny-random-llama-fp16): a BPE model with
the SentencePiece pieces as vocabulary, merges derived from the vocabulary ordered by the merged
piece's score (transformers' SentencePieceExtractor), byte_fallback, a normalizer that prepends
"▁" and replaces spaces by "▁", and the Replace/ByteFallback/Fuse/Strip decoder.

Where the SentencePiece model sets remove_extra_whitespaces (tok512.model does), the normalizer
first collapses runs of spaces and trims leading/trailing spaces, as SentencePiece does; the
transformers converter omits this step and then disagrees with SentencePiece on such input.
"""
from __future__ import annotations

import json

from google.protobuf.message import DecodeError
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6


def load_sp_model(path: str) -> sp_pb2.ModelProto:
    m = sp_pb2.ModelProto()
    with open(path, "rb") as f:
        try:
            m.ParseFromString(f.read())
        except DecodeError as e:
            raise ValueError(f"{path}: not a SentencePiece model ({e})") from None
    if not m.pieces:
        raise ValueError(f"{path}: not a SentencePiece model (no pieces)")
    if m.trainer_spec.model_type != sp_pb2.TrainerSpec.BPE:
        raise ValueError(f"{path}: SentencePiece model type {m.trainer_spec.model_type} is not BPE; only BPE models are supported")
    return m


def sp_merges(vocab: dict[str, int], scores: dict[str, float]) -> list[list[str]]:
    merges = []
    for piece, score in scores.items():
        local = []
        for i in range(1, len(piece)):
            left, right = piece[:i], piece[i:]
            if left in vocab and right in vocab:
                local.append((left, right, score))
        local.sort(key=lambda x: (vocab[x[0]], vocab[x[1]]))
        merges.extend(local)
    merges.sort(key=lambda x: x[2], reverse=True)  # stable: ties keep vocabulary order
    return [[left, right] for left, right, _ in merges]


def build_tokenizer_json(m: sp_pb2.ModelProto) -> dict:
    vocab = {p.piece: i for i, p in enumerate(m.pieces)}
    scores = {p.piece: p.score for p in m.pieces}
    spec = m.trainer_spec
    unk = m.pieces[spec.unk_id].piece if spec.unk_id >= 0 else None
    bos = m.pieces[spec.bos_id].piece if spec.bos_id >= 0 else None

    added = [
        {"id": i, "content": p.piece, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for i, p in enumerate(m.pieces)
        if p.type in (_UNKNOWN, _CONTROL)
    ]
    added += [
        {"id": i, "content": p.piece, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": False}
        for i, p in enumerate(m.pieces)
        if p.type == _USER_DEFINED
    ]

    normalizers = []
    if m.normalizer_spec.remove_extra_whitespaces:
        normalizers += [
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            {"type": "Replace", "pattern": {"Regex": "^ | $"}, "content": ""},
        ]
    if m.normalizer_spec.add_dummy_prefix:
        normalizers.append({"type": "Prepend", "prepend": "\u2581"})
    normalizers.append({"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"})

    post = None
    if bos is not None:
        post = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {bos: {"id": bos, "ids": [spec.bos_id], "tokens": [bos]}},
        }
    decoders = [
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]
    if m.normalizer_spec.add_dummy_prefix:
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,
        "post_processor": post,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": unk,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": spec.byte_fallback,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": sp_merges(vocab, scores),
        },
    }


def build_tokenizer_config(m: sp_pb2.ModelProto, model_max_length: int, chat_template: str | None = None) -> dict:
    spec = m.trainer_spec

    def piece(i: int):
        return m.pieces[i].piece if i >= 0 else None

    decoder = {
        str(i): {"content": p.piece, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
        for i, p in enumerate(m.pieces)
        if p.type in (_UNKNOWN, _CONTROL)
    }
    cfg = {
        "add_bos_token": spec.bos_id >= 0,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": piece(spec.bos_id),
        "clean_up_tokenization_spaces": False,
        "eos_token": piece(spec.eos_id),
        "legacy": True,
        "model_max_length": model_max_length,
        "pad_token": piece(spec.pad_id) if spec.pad_id >= 0 else piece(spec.unk_id),
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": piece(spec.unk_id),
    }
    if chat_template:
        cfg["chat_template"] = chat_template
    return cfg


def write_tokenizer(sp_model_path: str, out_dir: str, model_max_length: int) -> None:
    write_tokenizer_files(load_sp_model(sp_model_path), out_dir, model_max_length)


def write_tokenizer_files(m: sp_pb2.ModelProto, out_dir: str, model_max_length: int) -> None:
    with open(f"{out_dir}/tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(build_tokenizer_json(m), f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(f"{out_dir}/tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump(build_tokenizer_config(m, model_max_length), f, ensure_ascii=False, indent=2)
        f.write("\n")
