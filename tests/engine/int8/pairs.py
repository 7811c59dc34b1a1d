"""Writes the sentence pairs of scripts/convert/sentences.py, tokenized by HF
`tokenizers` with TOKENIZER.json, for test_int8_encoders.cpp:

  pairs.py TOKENIZER.json OUT.json [N]   ->  {"pairs": [[a, b], ...], "ids": [[ids_a, ids_b], ...]}
Exits 77 when `tokenizers` is missing."""
import json
import os
import sys

try:
    import tokenizers
except ImportError as e:
    print(f"skip: {e}", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../scripts/convert"))
from sentences import sentence_pairs  # noqa: E402

tok = tokenizers.Tokenizer.from_file(sys.argv[1])
tok.no_padding()
pairs = sentence_pairs(int(sys.argv[3]) if len(sys.argv) > 3 else 300)
ids = [[tok.encode(a).ids, tok.encode(b).ids] for a, b in pairs]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump({"pairs": pairs, "ids": ids}, f)
