"""Writes tokenizer parity references for tests/engine/tokenizer/test_tokenizer.cpp.

  make_reference.py hf TOKENIZER_JSON OUT     ids and decodes from HF `tokenizers`
  make_reference.py sp MODEL_FILE OUT         ids and decodes from `sentencepiece`
  make_reference.py hf TOKENIZER_JSON OUT VARIANT
      first rewrites the tokenizer.json into OUT.tokenizer.json with the pipeline of
      another family (VARIANTS below), so that stages our model files do not use (NFC,
      Split, Metaspace, Digits, ignore_merges, ...) are checked against HF too.
  make_reference.py sp - OUT VARIANT
      first trains a small SentencePiece model (SP_VARIANTS below) into OUT.model.

OUT is JSON: {"cases": [{"text", "ids", "ids_plain", "ids_truncated", "decoded", "decoded_skip",
"lossless"}], "random_ids": [{"ids", "decoded", "decoded_skip"}], "truncation": N}. A
tokenizer.json's own padding is switched off; its truncation (max_length N, 0 if none)
only applies to "ids_truncated". Exits 77 with the
reason on stderr when the reference package is missing.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
METASPACE = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}
VARIANTS = {
    # Llama-3 / Qwen2 style: NFC, Split regex then ByteLevel without its own regex,
    # ignore_merges, BOS from a template.
    "llama3_style": lambda j: j.update({
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "model": dict(j["model"], ignore_merges=True),
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [50256],
                                                                "tokens": ["<|endoftext|>"]}}}}),
    # GPT-2 with add_prefix_space and digits split off one by one.
    "bytelevel_prefix_digits": lambda j: j.update({
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]}}),
    # SentencePiece-style BPE through the Metaspace pre-tokenizer and decoder.
    "metaspace": lambda j: j.update({
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [METASPACE, {"type": "Digits", "individual_digits": False}]},
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, dict(METASPACE)]}}),
}


SP_VARIANTS = {
    "unigram_fallback": dict(model_type="unigram", byte_fallback=True),
    "unigram_unk": dict(model_type="unigram", byte_fallback=False, remove_extra_whitespaces=False),
}


def train_sp(variant, out):
    try:
        import sentencepiece
    except ImportError:
        print("skip: the python package `sentencepiece` is not installed", file=sys.stderr)
        sys.exit(77)
    text = out + ".train.txt"
    rng = random.Random(3)  # trained on the fixed fragments only: random code points stay unknown
    with open(text, "w", encoding="utf-8") as f:
        for _ in range(3000):
            line = " ".join(rng.choice(corpus.FRAGMENTS) for _ in range(rng.randint(1, 8)))
            f.write(line.replace("\n", " ").replace("\r", " ") + "\n")
    sentencepiece.SentencePieceTrainer.train(
        input=text, model_prefix=out, vocab_size=1000, normalization_rule_name="identity",
        character_coverage=0.9995, hard_vocab_limit=False, num_threads=1, minloglevel=2, **SP_VARIANTS[variant])
    return out + ".model"


def make_variant(path, variant, out):
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    VARIANTS[variant](j)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False)
    return out


def hf(path):
    try:
        import tokenizers
    except ImportError:
        print("skip: the python package `tokenizers` is not installed", file=sys.stderr)
        sys.exit(77)
    tok = tokenizers.Tokenizer.from_file(path)
    tok.no_padding()
    truncation = (tok.truncation or {}).get("max_length", 0)
    truncating = tokenizers.Tokenizer.from_file(path)
    truncating.no_padding()
    tok.no_truncation()
    specials = [t.content for t in tok.get_added_tokens_decoder().values()]
    cases = []
    for text in corpus.build(specials):
        ids = tok.encode(text, add_special_tokens=True).ids
        plain = tok.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids, "ids_plain": plain, "ids_truncated": truncating.encode(text).ids,
                      "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip": tok.decode(ids, skip_special_tokens=True),
                      "lossless": tok.decode(plain, skip_special_tokens=False) == text})
    return cases, tok.get_vocab_size(with_added_tokens=True), tok.decode, truncation


def sp(path):
    try:
        import sentencepiece
    except ImportError:
        print("skip: the python package `sentencepiece` is not installed", file=sys.stderr)
        sys.exit(77)
    proc = sentencepiece.SentencePieceProcessor(model_file=path)
    special_ids = {i for i in range(proc.get_piece_size()) if proc.is_control(i) or proc.is_unknown(i)}
    specials = [proc.id_to_piece(i) for i in sorted(special_ids)]

    def decode(ids, skip_special_tokens):
        # Skipping specials means leaving <unk> and control ids out before decoding.
        return proc.decode([i for i in ids if not (skip_special_tokens and i in special_ids)])

    cases = []
    for text in corpus.build(specials):
        plain = proc.encode(text)
        ids = ([proc.bos_id()] if proc.bos_id() >= 0 else []) + plain
        cases.append({"text": text, "ids": ids, "ids_plain": plain, "decoded": decode(ids, False),
                      "decoded_skip": decode(ids, True), "lossless": proc.decode(plain) == text})
    return cases, proc.get_piece_size(), decode, 0


def main():
    kind, path, out = sys.argv[1:4]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if len(sys.argv) > 4 and kind == "sp":
        path = train_sp(sys.argv[4], out)
    elif len(sys.argv) > 4:
        path = make_variant(path, sys.argv[4], out + ".tokenizer.json")
    cases, vocab, decode, truncation = (hf if kind == "hf" else sp)(path)
    rng = random.Random(99)
    random_ids = []
    for _ in range(300):
        ids = [rng.randrange(vocab) for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.5:  # low ids: byte-fallback and byte-level single bytes live there
            ids = [rng.randrange(min(vocab, 300)) for _ in ids]
        random_ids.append({"ids": ids, "decoded": decode(ids, skip_special_tokens=False),
                           "decoded_skip": decode(ids, skip_special_tokens=True)})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"cases": cases, "random_ids": random_ids, "truncation": truncation}, f, ensure_ascii=True)


if __name__ == "__main__":
    main()
