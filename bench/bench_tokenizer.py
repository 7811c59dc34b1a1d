"""Encode throughput of run-llm's tokenizer vs HF `tokenizers`, same documents, same run.

  bench/bench_tokenizer.py [--build BUILD_DIR] [--mb 4] [--json OUT]

Builds a few MB of mixed text (English prose, code, multilingual text, emoji, numbers)
from tests/engine/tokenizer/corpus.py, one document per line, then encodes every
document sequentially (one thread on both sides) with HF `tokenizers` and with
BUILD_DIR/tests/engine/tokenizer/bench_tokenizer_encode. Reports MB/s, the ratio, and
whether the ids are identical (checksum). Prints a Markdown table; --json writes JSON.
"""
import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/engine/tokenizer"))
import corpus  # noqa: E402

MODELS = os.environ.get("RLLM_SHARED_MODELS", os.path.join(ROOT, "../shared/models"))
TOKENIZERS = {
    "smollm2 (byte-level BPE)": "smollm2-135m-instruct-int4-ortgenai/tokenizer.json",
    "gpt2 (byte-level BPE)": "tokenizers/gpt2-tokenizer.json",
    "llama (SentencePiece-style BPE)": "ortgenai-tiny-random-llama-fp16/tokenizer.json",
}


def make_text(mb):
    rng = random.Random(7)
    pieces = corpus.build([], count=3000, seed=11)
    prose = ("The quick brown fox jumps over the lazy dog while the committee reviews "
             "the quarterly numbers, which rose 12.5% to $3,400,000 in 2024. ")
    docs, size = [], 0
    while size < mb * 1_000_000:
        parts = [prose * rng.randint(1, 4)] + [rng.choice(pieces) for _ in range(rng.randint(2, 12))]
        doc = " ".join(parts).replace("\n", " ").replace("\r", " ")
        docs.append(doc)
        size += len(doc.encode("utf-8"))
    return docs


def checksum(ids_list):
    c = 0
    for ids in ids_list:
        for i in ids:
            c = (c * 1000003 + i) % (1 << 64)
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = "1"
    import tokenizers

    exe = os.path.join(args.build, "tests/engine/tokenizer/bench_tokenizer_encode")
    if not os.path.exists(exe):
        sys.exit(f"{exe} not found: build the bench_tokenizer_encode target first")
    docs = make_text(args.mb)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    rows = []
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write("\n".join(docs) + "\n")
        text_path = f.name
    try:
        for name, rel in TOKENIZERS.items():
            path = os.path.join(MODELS, rel)
            tok = tokenizers.Tokenizer.from_file(path)
            best = float("inf")
            for _ in range(args.runs):
                t0 = time.perf_counter()
                out = [tok.encode(d, add_special_tokens=False).ids for d in docs]
                best = min(best, time.perf_counter() - t0)
            ours = json.loads(subprocess.check_output([exe, path, text_path, str(args.runs)], text=True))
            rows.append({"tokenizer": name, "mb": nbytes / 1e6, "tokens": sum(len(x) for x in out),
                         "hf_mb_s": nbytes / 1e6 / best, "ours_mb_s": ours["bytes"] / 1e6 / ours["seconds"],
                         "identical_ids": ours["checksum"] == checksum(out) and ours["tokens"] == sum(len(x) for x in out)})
    finally:
        os.unlink(text_path)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"CPU: {cpu}; tokenizers {tokenizers.__version__}; one thread each; best of {args.runs}\n")
    print("| tokenizer | MB | tokens | HF tokenizers MB/s | run-llm MB/s | ratio | ids identical |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tokenizer']} | {r['mb']:.1f} | {r['tokens']} | {r['hf_mb_s']:.2f} | {r['ours_mb_s']:.2f} | "
              f"{r['ours_mb_s'] / r['hf_mb_s']:.2f}x | {'yes' if r['identical_ids'] else 'NO'} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu, "tokenizers": tokenizers.__version__, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
