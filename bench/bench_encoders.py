"""Sentence encoders, fp32 and INT8: size on disk, sentences/s at batch 1 and
32 with 1 and 2 threads, run-llm (the C++ Encoder through bench_encoder_embed)
against onnxruntime (PyPI) on the same files and the same token ids in the
same run, and the fp32-vs-INT8 similarity agreement (Spearman of cosine scores
on 300 sentence pairs, run-llm's embeddings). Besides onnxruntime's INT8 files,
run-llm-dynamic is `run-llm quantize FP32 OUT --dynamic` (run-llm's own INT8 form).

  bench_encoders.py [--build build] [--seconds 1.5] [--rounds 3] [--models CACHE] [--threads 1,2]
                    [--model TITLE] [--variants fp32,dynamic-u8-tensor,...] [--write]

Each cell is the median of --rounds runs per engine, the two engines alternating.

Every timed invocation holds flock /tmp/bench.lock for a few seconds only.
--write replaces the "Encoders" section of bench/RESULTS.md and the encoder
table of README.md (between the encoders-table markers), and writes
bench/results/encoders-latest.json.
"""
import argparse
import datetime
import fcntl
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
import tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts/convert"))
from sentences import corpus_sentences, sentence_pairs  # noqa: E402

ENCODERS = [
    ("paraphrase-MiniLM-L3-v2", "paraphrase-minilm-l3-v2", "paraphrase-MiniLM-L3-v2.onnx", "461"),
    ("all-MiniLM-L6-v2", "all-minilm-l6-v2/onnx", "model.onnx", None),
]
VARIANTS = ["fp32", "dynamic-u8-tensor", "dynamic-u8-channel", "dynamic-s8-tensor", "dynamic-s8-channel", "qdq-s8-channel",
            "run-llm-dynamic"]


class BenchLock:
    def __enter__(self):
        self.f = open("/tmp/bench.lock", "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)

    def __exit__(self, *a):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def feeds(sess, rows):
    names = {i.name for i in sess.get_inputs()}
    L = max(len(r) for r in rows)
    ids = np.zeros((len(rows), L), np.int64)
    mask = np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    f = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in names:
        f["token_type_ids"] = np.zeros_like(ids)
    return f


def ort_rate(path, output, rows, batch, threads, seconds):
    sess = ort_session(path, threads)
    out = [output] if output else None
    batches = [feeds(sess, rows[b : b + batch]) for b in range(0, len(rows), batch)]
    sess.run(out, batches[0])
    done, t0, i = 0, time.perf_counter(), 0
    while done < len(rows) or time.perf_counter() - t0 < seconds:
        f = batches[i % len(batches)]
        sess.run(out, f)
        done += f["input_ids"].shape[0]
        i += 1
    return done / (time.perf_counter() - t0)


def rllm_rate(binary, path, ids_file, batch, threads, seconds):
    r = subprocess.run([binary, path, ids_file, str(batch), str(threads), str(seconds)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{binary} {path}: {r.stderr.strip()}")
    return json.loads(r.stdout)["sentences_per_s"]


def rllm_vectors(binary, path, ids_file, n, tmp):
    dump = os.path.join(tmp, "emb.f32")
    r = subprocess.run([binary, path, ids_file, "32", "2", "0", dump], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{binary} {path}: {r.stderr.strip()}")
    return np.fromfile(dump, np.float32).reshape(n, -1)


def spearman(a, b):
    def rank(v):
        r = np.empty(len(v))
        r[np.argsort(v, kind="stable")] = np.arange(len(v))
        return r
    return float(np.corrcoef(rank(a), rank(b))[0, 1])


def write_ids(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(" ".join(map(str, r)) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--models", default=os.environ.get("RUNLLM_MODELS") or os.path.expanduser("~/.cache/run-llm"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs per engine and cell; the median is reported")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--model", default="", help="only encoders whose title contains this")
    args = ap.parse_args()
    binary = os.path.join(args.build, "bench/bench_encoder_embed")
    tok = tokenizers.Tokenizer.from_file(os.path.join(args.models, "all-minilm-l6-v2/tokenizer.json"))
    tok.no_padding()
    # 64 corpus sentences (every 17th), ~30 tokens each: batch 1 runs each alone, batch 32 two padded batches.
    sents = corpus_sentences()[::17][:64]
    rows = [tok.encode(s).ids for s in sents]
    pairs = sentence_pairs(300)
    pair_rows = [tok.encode(s).ids for p in pairs for s in p]
    threads = [int(t) for t in args.threads.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ids_file, pair_file = os.path.join(tmp, "ids.txt"), os.path.join(tmp, "pairs.txt")
        write_ids(ids_file, rows)
        write_ids(pair_file, pair_rows)
        for title, folder, fp32_name, output in ENCODERS:
            if args.model not in title:
                continue
            base = None
            for v in VARIANTS:
                if v != "fp32" and v not in args.variants.split(","):
                    continue
                path = os.path.join(args.models, folder, fp32_name if v == "fp32" else f"int8/{v}.onnx")
                if v == "run-llm-dynamic":
                    path = os.path.join(tmp, f"{title}-dynamic.onnx")
                    fp32_path = os.path.join(args.models, folder, fp32_name)
                    subprocess.run([os.path.join(args.build, "engine/run-llm"), "quantize", fp32_path, path, "--dynamic"],
                                   check=True, capture_output=True)
                if not os.path.exists(path):
                    print(f"bench_encoders: {path} missing, skipped", file=sys.stderr)
                    continue
                vec = rllm_vectors(binary, path, pair_file, len(pair_rows), tmp)
                cos = (vec[0::2] * vec[1::2]).sum(1)
                if v == "fp32":
                    base = cos
                    if "fp32" not in args.variants.split(","):
                        continue
                data = path + ".data"  # run-llm quantize's external weights
                mb = (os.path.getsize(path) + (os.path.getsize(data) if os.path.exists(data) else 0)) / 1e6
                row = {"model": title, "variant": v, "mb": mb,
                       "spearman": None if v == "fp32" or base is None else spearman(base, cos)}
                for t in threads:
                    for b in (1, 32):
                        # The two engines alternate, args.rounds times each; medians.
                        rs, os_ = [], []
                        for _ in range(args.rounds):
                            with BenchLock():
                                rs.append(rllm_rate(binary, path, ids_file, b, t, args.seconds))
                                os_.append(ort_rate(path, output, rows, b, t, args.seconds))
                        r, o = float(np.median(rs)), float(np.median(os_))
                        row[f"t{t}_b{b}"] = {"run_llm": r, "ort": o, "run_llm_runs": rs, "ort_runs": os_}
                        print(f"{title} {v} t={t} b={b}: run-llm {r:.1f}/s, onnxruntime {o:.1f}/s ({r / o:.2f}x)",
                              file=sys.stderr)
                results.append(row)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    meta = {"date": datetime.date.today().isoformat(), "commit": commit, "cpu": cpu_model(), "onnxruntime": ort.__version__,
            "command": "python bench/bench_encoders.py " + " ".join(sys.argv[1:]), "sentences": len(rows),
            "load": os.getloadavg()[0], "rounds": args.rounds,
            "mean_tokens": sum(map(len, rows)) / len(rows)}
    table = markdown(results, threads)
    print(table)
    if args.write:
        os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
        with open(os.path.join(ROOT, "bench/results/encoders-latest.json"), "w") as f:
            json.dump({"meta": meta, "rows": results}, f, indent=1)
        write_results(meta, table)
        write_readme(meta, results)


def markdown(results, threads):
    head = "| model | variant | MB | threads | batch 1: run-llm / ORT sent/s | x | batch 32: run-llm / ORT sent/s | x | Spearman vs fp32 |"
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for t in threads:
            b1, b32 = r[f"t{t}_b1"], r[f"t{t}_b32"]
            sp = "—" if r["spearman"] is None else f"{r['spearman']:.4f}"
            lines.append(f"| {r['model']} | {r['variant']} | {r['mb']:.1f} | {t} | {b1['run_llm']:.1f} / {b1['ort']:.1f} | "
                         f"{b1['run_llm'] / b1['ort']:.2f} | {b32['run_llm']:.1f} / {b32['ort']:.1f} | "
                         f"{b32['run_llm'] / b32['ort']:.2f} | {sp} |")
    return "\n".join(lines)


def replace_section(text, start, end, body):
    i = text.find(start)
    if i < 0:
        return text.rstrip("\n") + "\n\n" + start + "\n" + body + end + "\n"
    j = text.find(end, i)
    return text[:i] + start + "\n" + body + text[j:]


def write_results(meta, table):
    p = os.path.join(ROOT, "bench/RESULTS.md")
    with open(p) as f:
        text = f.read()
    body = (f"\n{meta['date']}, commit {meta['commit']}, {meta['cpu']}, onnxruntime {meta['onnxruntime']} (PyPI), load average "
            f"{meta['load']:.1f} at the end (other sessions share the 2 cores: ratios within a row are the figure "
            "to read). Command:\n\n"
            f"```\n{meta['command']}\n```\n\n"
            f"{meta['sentences']} corpus sentences (scripts/convert/sentences.py, {meta['mean_tokens']:.1f} tokens on "
            f"average) as token ids, the same ids and batches for both engines; each cell the median of {meta['rounds']} "
            "runs per engine, the two alternating. onnxruntime runs each batch padded "
            "to its longest row; run-llm's Encoder::embed_ids runs a batch's rows in runs of similar length "
            "(sorted, a new run past 5/4 of the shortest + 4 tokens) and fuses the GELU and attention chains at "
            "load. run-llm is the C++ Encoder (bench/bench_encoder_embed), onnxruntime an InferenceSession with "
            "intra_op_num_threads = threads, default graph optimizations. INT8 files are onnxruntime's own "
            "quantize_dynamic / quantize_static output (scripts/convert/quantize_encoders.py). Spearman: cosine "
            "scores of 300 sentence pairs, INT8 vs fp32, run-llm's embeddings. run-llm-dynamic is run-llm's own INT8 "
            "form (`run-llm quantize FP32 OUT --dynamic`: uint8 weights per column and embedding tables per tensor, byte for byte onnxruntime quantize_dynamic's per-channel QUInt8 file).\n\n" + table + "\n\n")
    text = replace_section(text, "## Encoders", "<!-- end encoders -->", body)
    with open(p, "w") as f:
        f.write(text)


def write_readme(meta, results):
    p = os.path.join(ROOT, "README.md")
    with open(p) as f:
        text = f.read()
    lines = ["| model | variant | MB | batch 1, 1 thread: run-llm / ORT sent/s | batch 32, 2 threads: run-llm / ORT sent/s | Spearman vs fp32 |",
             "|---|---|---:|---:|---:|---:|"]
    for r in results:
        b1, b32 = r.get("t1_b1"), r.get("t2_b32")
        if b1 is None or b32 is None:
            continue
        sp = "—" if r["spearman"] is None else f"{r['spearman']:.4f}"
        lines.append(f"| {r['model']} | {r['variant']} | {r['mb']:.1f} | {b1['run_llm']:.0f} / {b1['ort']:.0f} | "
                     f"{b32['run_llm']:.0f} / {b32['ort']:.0f} | {sp} |")
    body = "\n".join(lines) + (f"\n\n(`{meta['command']}`, {meta['date']}, commit {meta['commit']}, load average "
                                f"{meta['load']:.1f} on 2 shared cores; details and the 1/2-thread rows in "
                                "bench/RESULTS.md.)\n")
    text = replace_section(text, "<!-- encoders-table:begin -->", "<!-- encoders-table:end -->", body)
    with open(p, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
