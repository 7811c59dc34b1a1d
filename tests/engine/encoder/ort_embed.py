"""Reference sentence embeddings from onnxruntime for test_encoder.cpp.

  ort_embed.py MODEL.onnx TOKENIZER.json OUTPUT_NAME OUT.json [MAX_LENGTH]

Tokenizes SENTENCES with HF `tokenizers` (the file's own truncation, or MAX_LENGTH
tokens when given; no padding),
runs every sentence alone through onnxruntime and writes
{"sentences", "ids", "embeddings"} (the graph output OUTPUT_NAME, [1, H]).
Exits 77 with the reason when a package is missing.
"""
import json
import sys

try:
    import numpy as np
    import onnxruntime as ort
    import tokenizers
except ImportError as e:
    print(f"skip: {e}", file=sys.stderr)
    sys.exit(77)

SENTENCES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "Un café à Paris, s'il vous plaît!",
    "東京は日本の首都です。",
    "Emoji 😀 and symbols © ™ → ∑",
    "",
    "supercalifragilisticexpialidocious " + "x" * 120,
    "Tab\tand\nnewline and  double  spaces",
    " ".join(["long input that goes on and on"] * 40),
    "a",
    "What is the capital of France? Paris is the capital of France.",
]


def main():
    model, tok_path, output, out = sys.argv[1:5]
    tok = tokenizers.Tokenizer.from_file(tok_path)
    tok.no_padding()
    if len(sys.argv) > 5:
        tok.enable_truncation(max_length=int(sys.argv[5]))
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    ids_all, embs = [], []
    for s in SENTENCES:
        ids = tok.encode(s).ids
        feed = {"input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, len(ids)), np.int64)}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros((1, len(ids)), np.int64)
        (y,) = sess.run([output], feed)
        ids_all.append(ids)
        embs.append([float(v) for v in y[0]])
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"sentences": SENTENCES, "ids": ids_all, "embeddings": embs}, f)


if __name__ == "__main__":
    main()
