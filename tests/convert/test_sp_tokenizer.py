"""tokenizer.json built from tok512.model gives sentencepiece's ids on a corpus (HF tokenizers),
and decodes them back to sentencepiece's text. Also checks the Llama-2 SentencePiece model
(32000 pieces) on the same corpus, against the `sentencepiece` package. Texts containing control
tokens such as "<s>" are left out: Hugging Face tokenizers match added special tokens in text,
sentencepiece never does (a known, intended difference of every HF Llama tokenizer).
usage: test_sp_tokenizer.py SHARED_MODELS_DIR
"""
import os
import sys
import tempfile

import sentencepiece as spm
import tokenizers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "convert"))
from sp_tokenizer import write_tokenizer  # noqa: E402

CORPUS = [
    "Once upon a time",
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
    'Tom said, "I don\'t know!" and ran away... 3 dogs, 12 cats & 1,000 birds?',
    "  leading and   multiple   spaces  ",
    "tabs\tand\nnew lines\n\n",
    "Émilie ate crêpes in Zürich — “quoted” ’apostrophe’",
    "日本語のテキスト and 中文 mixed",
    "emoji 🍰🚀 and symbols ∑√π ©",
    "a",
    "",
    " ",
    "The quick brown fox jumps over the lazy dog. " * 3,
]


def check(model_path: str) -> int:
    sp = spm.SentencePieceProcessor(model_file=model_path)
    with tempfile.TemporaryDirectory() as d:
        write_tokenizer(model_path, d, 512)
        tk = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    bad = 0
    for text in CORPUS:
        want = sp.encode(text)
        got = tk.encode(text, add_special_tokens=False).ids
        if got != want:
            print(f"FAIL: {os.path.basename(model_path)}: {text!r}: tokenizers {got} sentencepiece {want}")
            bad += 1
            continue
        if tk.decode(got) != sp.decode(want):
            print(f"FAIL: {os.path.basename(model_path)}: decode {tk.decode(got)!r} vs {sp.decode(want)!r}")
            bad += 1
    with_bos = tk.encode("Once upon a time").ids
    if with_bos[0] != sp.bos_id():
        print(f"FAIL: BOS not added: {with_bos}")
        bad += 1
    print(f"{'OK' if not bad else 'FAIL'}: {os.path.basename(model_path)}: {len(CORPUS) - bad}/{len(CORPUS)} texts identical")
    return bad


def main() -> int:
    shared = sys.argv[1]
    bad = check(os.path.join(shared, "stories260K", "tok512.model"))
    bad += check(os.path.join(shared, "tokenizers", "llama2-tokenizer.model"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
