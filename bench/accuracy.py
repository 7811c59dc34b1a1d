"""The accuracy table: size on disk, prefill and decode tok/s, and perplexity
of each model at each precision of our conversion, with llama.cpp's
perplexity of the source GGUF on the same text and windows.

Models: SmolLM2-135M-Instruct (Q4_1 GGUF) and Gemma-3-270M (Q4_K_M GGUF), the
folders scripts/fetch_models.sh writes.
Text: Genesis to Leviticus of the King James Bible (public domain), as the
Debian package bible-kjv-text ships it, read through its `bible` program
(package bible-kjv; scripts/setup.sh installs both): ~99k words, ~125k tokens.

usage: bench/accuracy.py [--models smollm2,gemma3] [--rows fp32,fp16,int8,int4,llama.cpp]
                         [--threads 2] [--ctx 512] [--max-windows N] [--write]
Each measured row is stored in bench/results/accuracy.json (keyed by model and
row, replacing an earlier figure), so a long table can be measured in pieces
(one model or one precision per call, e.g. under a 5-minute lock).
  --write  render every stored row into the "Accuracy" section of
           bench/RESULTS.md and between the accuracy markers in README.md
           (`--rows "" --write` renders without measuring)
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
STORE = os.path.join(ROOT, "bench", "results", "accuracy.json")
# name: (title, folder holding ortgenai-<precision>, source GGUF, its label)
MODELS = {
    "smollm2": ("SmolLM2-135M-Instruct", "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1 GGUF (source)"),
    "gemma3": ("Gemma-3-270M", "gemma-3-270m", "gemma-3-270m-q4_k_m.gguf", "Q4_K_M GGUF (source)"),
}
PRECISIONS = ["fp32", "fp16", "int8", "int4"]
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


def llama_cpp_perplexity(gguf, text, ctx, threads, max_windows):
    """llama.cpp's perplexity tool, through llama-cpp-python: the same windows
    (first token BOS when the vocabulary adds one, the second half scored)."""
    import llama_cpp
    import numpy as np
    llm = llama_cpp.Llama(model_path=gguf, n_ctx=ctx, n_batch=ctx, n_ubatch=ctx, n_threads=threads,
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


def measure(model, row, text, a):
    """One stored row: run-llm on ortgenai-<row>, or llama.cpp on the source GGUF."""
    title, sub, gguf_name, gguf_label = MODELS[model]
    base = os.path.join(CACHE, sub)
    if row == "llama.cpp":
        gguf = os.path.join(base, gguf_name)
        ppl, err, ntok, nwin = llama_cpp_perplexity(gguf, text, a.ctx, a.threads, a.max_windows)
        return {"engine": "llama.cpp", "precision": gguf_label, "bytes": os.path.getsize(gguf), "prefill": None,
                "decode": None, "ppl": ppl, "err": err, "tokens": ntok, "windows": nwin}
    d = os.path.join(base, f"ortgenai-{row}")
    if not os.path.isdir(d):
        print(f"accuracy: {d} is absent (scripts/fetch_models.sh makes it)", file=sys.stderr)
        return None
    ppl, err, ntok, nwin = run_llm_perplexity(d, text, a.ctx, a.threads, a.max_windows)
    pp, tg = run_llm_speed(d, a.threads)
    return {"engine": "run-llm", "precision": f"{row} (ORT GenAI folder)", "bytes": folder_bytes(d), "prefill": pp,
            "decode": tg, "ppl": ppl, "err": err, "tokens": ntok, "windows": nwin}


def render(store):
    """Markdown: one caption and table per model, rows in precision order."""
    order = PRECISIONS + ["llama.cpp"]
    out = []
    for model, (title, _, _, _) in MODELS.items():
        rows = [store[model][r] for r in order if r in store.get(model, {})]
        if not rows:
            continue
        settings = sorted({(r["ctx"], r["max_windows"], r["threads"]) for r in rows})
        dates, commits = sorted({r["date"] for r in rows}), sorted({r["commit"] for r in rows})
        when = [", ".join(dates) + (" (commits " if len(commits) > 1 else ", commit ") + ", ".join(commits) + (")" if len(commits) > 1 else "")]
        cmds = sorted({r["command"] for r in rows})
        out += [f"{title} on {TEXT_NAME}; windows of {'/'.join(str(c) for c, _, _ in settings)} tokens, second half scored "
                f"(llama.cpp's perplexity method); {'/'.join(str(t) for _, _, t in settings)} threads; {'; '.join(when)}; "
                + ", ".join(f"`{c}`" for c in cmds) + ".", "",
                "| engine | precision | size on disk | prefill tok/s (128) | decode tok/s | tokens / windows | perplexity |",
                "|---|---|---:|---:|---:|---:|---:|"]
        f = lambda x: "" if x is None else f"{x:.1f}"
        for r in rows:
            out.append(f"| {r['engine']} | {r['precision']} | {r['bytes'] / 1e6:.1f} MB | {f(r['prefill'])} | {f(r['decode'])} | "
                       f"{r['tokens']} / {r['windows']} | {r['ppl']:.3f} ± {r['err']:.3f} |")
        out.append("")
    return "\n".join(out).rstrip("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    ap.add_argument("--rows", default=",".join(PRECISIONS + ["llama.cpp"]), help="precisions and/or llama.cpp")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--max-windows", type=int, default=0, help="0: the whole text")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    models, rows = a.models.split(","), [r for r in a.rows.split(",") if r]
    for m in models:
        if m not in MODELS:
            sys.exit(f"accuracy: unknown model {m!r}; known: {', '.join(MODELS)}")
    for r in rows:
        if r not in PRECISIONS + ["llama.cpp"]:
            sys.exit(f"accuracy: unknown row {r!r}; known: {', '.join(PRECISIONS)}, llama.cpp")
    store = json.load(open(STORE)) if os.path.exists(STORE) else {}
    text = kjv_text()
    date = datetime.date.today().isoformat()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cmd = f"bench/accuracy.py --threads {a.threads} --ctx {a.ctx}" + (f" --max-windows {a.max_windows}" if a.max_windows else "")
    for m in models:
        for r in rows:
            try:
                got = measure(m, r, text, a)
            except ImportError:
                print("accuracy: llama-cpp-python is absent (bench/compare.sh builds it); llama.cpp row left out", file=sys.stderr)
                continue
            if got is None:
                continue
            got.update(date=date, commit=commit, command=cmd, ctx=a.ctx, max_windows=a.max_windows, threads=a.threads)
            store.setdefault(m, {})[r] = got
            os.makedirs(os.path.dirname(STORE), exist_ok=True)
            with open(STORE, "w") as f:
                json.dump(store, f, indent=1)
                f.write("\n")
            print(m, r, got, file=sys.stderr, flush=True)
    table = render(store)
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
