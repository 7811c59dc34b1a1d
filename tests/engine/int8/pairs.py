"""Writes the sentence pairs of scripts/convert/sentences.py, tokenized by HF
`tokenizers` with TOKENIZER.json, and onnxruntime's cosine score of each pair
for every MODEL.onnx given, for test_int8_encoders.cpp:

  pairs.py TOKENIZER.json OUT.json N [MODEL.onnx OUTPUT_NAME ...]
    ->  {"pairs": [[a, b], ...], "ids": [[ids_a, ids_b], ...], "ort_scores": {MODEL.onnx: [cos, ...]}}

The score is the cosine of the graph output
OUTPUT_NAME (the pooled [1, H] sentence embedding). Exits 77 when a package is missing.
"""
import json
import os
import sys

try:
    import numpy as np
    import tokenizers
except ImportError as e:
    print(f"skip: {e}", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../scripts/convert"))
from sentences import sentence_pairs  # noqa: E402


def ort_scores(path, output, ids):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    rows = [r for p in ids for r in p]
    # Rows of similar length run together, right-padded and masked (the
    # graph's pooling honours the mask); vectors go back in row order.
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    vec = [None] * len(rows)
    for b in range(0, len(order), 32):
        part = order[b : b + 32]
        L = max(len(rows[i]) for i in part)
        x = np.zeros((len(part), L), np.int64)
        mask = np.zeros_like(x)
        for j, i in enumerate(part):
            x[j, : len(rows[i])] = rows[i]
            mask[j, : len(rows[i])] = 1
        feed = {"input_ids": x, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(x)
        y = sess.run([output], feed)[0].astype(np.float64)
        for j, i in enumerate(part):
            vec[i] = y[j] / np.linalg.norm(y[j])
    return [float(vec[2 * k] @ vec[2 * k + 1]) for k in range(len(ids))]


def main():
    tok = tokenizers.Tokenizer.from_file(sys.argv[1])
    tok.no_padding()
    pairs = sentence_pairs(int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    ids = [[tok.encode(a).ids, tok.encode(b).ids] for a, b in pairs]
    out = {"pairs": pairs, "ids": ids, "ort_scores": {}}
    if len(sys.argv) > 4:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as e:
            print(f"skip: {e}", file=sys.stderr)
            sys.exit(77)
        for path, output in zip(sys.argv[4::2], sys.argv[5::2]):
            out["ort_scores"][path] = ort_scores(path, output, ids)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
