"""The accuracy table: size on disk, prefill and decode tok/s, and perplexity
of SmolLM2-135M-Instruct at each precision of our conversion, with llama.cpp's
perplexity of the source GGUF on the same text and windows.

Text: Genesis to Leviticus of the King James Bible (public domain), as the
Debian package bible-kjv-text ships it, read through its `bible` program
(package bible-kjv; scripts/setup.sh installs both): ~99k words, ~125k tokens.

usage: bench/accuracy.py [--threads 2] [--ctx 512] [--max-windows N] [--write]
  --write  replace the "Accuracy" section of bench/RESULTS.md and the table
           between the accuracy markers in README.md
"""
import argparse
import datetime
import json
import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("RUNLLM_MODELS", os.path.expanduser("~/.cache/run-llm"))
SMOL = os.path.join(CACHE, "smollm2-135m-instruct")
GGUF = os.path.join(SMOL, "SmolLM2-135M-Instruct.Q4_1.gguf")
RUN_LLM = os.path.join(ROOT, "build", "engine", "run-llm")
TEXT_NAME = "King James Bible, Genesis 1:1 - Leviticus 27:34 (Debian bible-kjv-text)"


def kjv_text():
    """One paragraph per chapter, verse numbers dropped."""
    path = os.path.join(CACHE, "text", "kjv-genesis-leviticus.txt")
    if os.path.exists(path):
        return path
    out = subprocess.run(["bible", "-f", "Genesis 1:1-Leviticus 27:34"], check=True,
                         capture_output=True, text=True).stdout
    chapters, current, key = [], [], None
    for line in out.splitlines():
        m = re.match(r"^([1-3]?[A-Za-z]+)(\d+):\d+ (.*)$", line)
        if not m:
            continue
        if (m.group(1), m.group(2)) != key and current:
            chapters.append(" ".join(current))
            current = []
        key = (m.group(1), m.group(2))
        current.append(m.group(3).strip())
    chapters.append(" ".join(current))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n\n".join(chapters) + "\n")
    return path


def folder_bytes(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("model.onnx"))


def run_llm_perplexity(model, text, ctx, threads, max_windows):
    cmd = [RUN_LLM, "perplexity", model, "--file", text, "--ctx", str(ctx), "--threads", str(threads)]
    if max_windows:
        cmd += ["--max-windows", str(max_windows)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"accuracy: {' '.join(cmd)} failed:\n{r.stderr}")
    m = re.search(r"PPL = ([0-9.]+) \+/- ([0-9.]+)", r.stdout)
    toks = re.search(r"perplexity: (\d+) tokens, (\d+) windows", r.stderr)
    return float(m.group(1)), float(m.group(2)), int(toks.group(1)), int(toks.group(2))


def run_llm_speed(model, threads):
    r = subprocess.run([RUN_LLM, "bench", model, "-p", "128", "-n", "64", "-t", str(threads), "-r", "3", "--json"],
                       capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    row = rows[0]
    med = lambda v: sorted(v)[len(v) // 2]
    return med(row["prefill_tok_s"]), med(row["decode_tok_s"])


def llama_cpp_perplexity(text, ctx, threads, max_windows):
    """llama.cpp's perplexity tool, through llama-cpp-python: the same windows
    (first token BOS when the vocabulary adds one, the second half scored)."""
    import llama_cpp
    import numpy as np
    llm = llama_cpp.Llama(model_path=GGUF, n_ctx=ctx, n_batch=ctx, n_ubatch=ctx, n_threads=threads,
                          n_threads_batch=threads, logits_all=True, verbose=False)
    tokens = llm.tokenize(open(text, "rb").read(), add_bos=True, special=False)
    add_bos = llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model)) \
        if hasattr(llama_cpp, "llama_vocab_get_add_bos") else True
    n_windows = len(tokens) // ctx
    if max_windows:
        n_windows = min(n_windows, max_windows)
    first = ctx // 2
    nll, nll2, count = 0.0, 0.0, 0
    for c in range(n_windows):
        window = tokens[c * ctx:(c + 1) * ctx]
        if add_bos:
            window[0] = llm.token_bos()
        llm.reset()
        llm.eval(window)
        logits = np.asarray(llm.scores[:ctx], dtype=np.float64)
        for i in range(first, ctx - 1):
            row = logits[i]
            m = row.max()
            lp = row[window[i + 1]] - m - math.log(np.exp(row - m).sum())
            nll -= lp
            nll2 += lp * lp
            count += 1
    mean = nll / count
    var = nll2 / count - mean * mean
    err = math.sqrt(max(var, 0) / (count - 1)) * math.exp(mean)
    return math.exp(mean), err, len(tokens), n_windows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--max-windows", type=int, default=0, help="0: the whole text")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    text = kjv_text()
    rows = []
    for prec in ["fp32", "fp16", "int8", "int4"]:
        d = os.path.join(SMOL, f"ortgenai-{prec}")
        if not os.path.isdir(d):
            print(f"accuracy: {d} is absent (scripts/fetch_models.sh makes it)", file=sys.stderr)
            continue
        ppl, err, ntok, nwin = run_llm_perplexity(d, text, a.ctx, a.threads, a.max_windows)
        pp, tg = run_llm_speed(d, a.threads)
        rows.append(("run-llm", f"{prec} (ORT GenAI folder)", folder_bytes(d), pp, tg, ppl, err, ntok, nwin))
        print(rows[-1], file=sys.stderr, flush=True)
    try:
        ppl, err, ntok, nwin = llama_cpp_perplexity(text, a.ctx, a.threads, a.max_windows)
        rows.append(("llama.cpp", "Q4_1 GGUF (source)", os.path.getsize(GGUF), None, None, ppl, err, ntok, nwin))
    except ImportError:
        print("accuracy: llama-cpp-python is absent (bench/compare.sh builds it); llama.cpp row left out", file=sys.stderr)

    date = datetime.date.today().isoformat()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cmd = f"bench/accuracy.py --threads {a.threads} --ctx {a.ctx}" + (f" --max-windows {a.max_windows}" if a.max_windows else "")
    lines = [f"SmolLM2-135M-Instruct on {TEXT_NAME}; windows of {a.ctx} tokens, second half scored "
             f"(llama.cpp's perplexity method); {a.threads} threads; {date}, commit {commit}; `{cmd}`.", "",
             "| engine | precision | size on disk | prefill tok/s (128) | decode tok/s | tokens / windows | perplexity |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for eng, prec, size, pp, tg, ppl, err, ntok, nwin in rows:
        f = lambda x: "" if x is None else f"{x:.1f}"
        lines.append(f"| {eng} | {prec} | {size / 1e6:.1f} MB | {f(pp)} | {f(tg)} | {ntok} / {nwin} | {ppl:.3f} ± {err:.3f} |")
    table = "\n".join(lines)
    print(table)
    if a.write:
        for path, begin, end in [(os.path.join(ROOT, "bench", "RESULTS.md"), "<!-- accuracy:begin -->", "<!-- accuracy:end -->"),
                                 (os.path.join(ROOT, "README.md"), "<!-- accuracy:begin -->", "<!-- accuracy:end -->")]:
            s = open(path).read()
            if begin not in s:
                sys.exit(f"accuracy: {path} has no {begin} marker")
            pre, rest = s.split(begin, 1)
            post = rest.split(end, 1)[1]
            open(path, "w").write(pre + begin + "\n" + table + "\n" + end + post)


if __name__ == "__main__":
    main()
