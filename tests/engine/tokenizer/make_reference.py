"""Writes tokenizer parity references for tests/engine/tokenizer/test_tokenizer.cpp.

  make_reference.py hf TOKENIZER_JSON OUT     ids and decodes from HF `tokenizers`
  make_reference.py sp MODEL_FILE OUT         ids and decodes from `sentencepiece`

OUT is JSON: {"cases": [{"text", "ids", "ids_plain", "decoded", "decoded_skip",
"lossless"}], "random_ids": [{"ids", "decoded", "decoded_skip"}]}. Exits 77 with the
reason on stderr when the reference package is missing.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402


def hf(path):
    try:
        import tokenizers
    except ImportError:
        print("skip: the python package `tokenizers` is not installed", file=sys.stderr)
        sys.exit(77)
    tok = tokenizers.Tokenizer.from_file(path)
    specials = [t.content for t in tok.get_added_tokens_decoder().values()]
    cases = []
    for text in corpus.build(specials):
        ids = tok.encode(text, add_special_tokens=True).ids
        plain = tok.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids, "ids_plain": plain,
                      "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip": tok.decode(ids, skip_special_tokens=True),
                      "lossless": tok.decode(plain, skip_special_tokens=False) == text})
    return cases, tok.get_vocab_size(with_added_tokens=True), tok.decode


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
    return cases, proc.get_piece_size(), decode


def main():
    kind, path, out = sys.argv[1:4]
    cases, vocab, decode = (hf if kind == "hf" else sp)(path)
    rng = random.Random(99)
    random_ids = []
    for _ in range(300):
        ids = [rng.randrange(vocab) for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.5:  # low ids: byte-fallback and byte-level single bytes live there
            ids = [rng.randrange(min(vocab, 300)) for _ in ids]
        random_ids.append({"ids": ids, "decoded": decode(ids, skip_special_tokens=False),
                           "decoded_skip": decode(ids, skip_special_tokens=True)})
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"cases": cases, "random_ids": random_ids}, f, ensure_ascii=True)


if __name__ == "__main__":
    main()
