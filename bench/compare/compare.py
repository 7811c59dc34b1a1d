"""Runs run-llm, onnxruntime-genai and llama.cpp on the same weights, engines
alternating run by run, and writes JSON, a Markdown section of bench/RESULTS.md
and a PNG chart. Called by bench/compare.sh (see bench/README.md).

Every run is a fresh process: load, a 4-token warm-up, prefill P fixed ids
(fresh KV cache), then N generated tokens (1 from the prefill logits + N-1
single-token decode steps, greedy, EOS ignored or masked). Figures are the
median of R runs with min and max.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SECTION = "## End-to-end: run-llm vs onnxruntime-genai vs llama.cpp"


def models_dir():
    return os.environ.get("RUNLLM_MODELS") or os.path.expanduser("~/.cache/run-llm")


def model_sets():
    """Named groups: (title, rows of (engine, weights path, weights label),
    the thread counts and prompt lengths the group is limited to or None)."""
    s = os.path.join(models_dir(), "smollm2-135m-instruct")
    gguf = os.path.join(s, "SmolLM2-135M-Instruct.Q4_1.gguf")
    g = os.path.join(models_dir(), "gemma-3-270m")
    syn = os.path.join(models_dir(), "synthetic")

    def synthetic(name, title, limits):
        folder, q4_0 = os.path.join(syn, f"{name}-ortgenai-int4"), os.path.join(syn, f"{name}.Q4_0.gguf")
        return (title, [("run-llm", folder, f"{name}-ortgenai-int4"),
                        ("onnxruntime-genai", folder, f"{name}-ortgenai-int4"),
                        ("llama.cpp", q4_0, f"{name}.Q4_0.gguf")], limits)

    return {
        "smollm2-int4": ("SmolLM2-135M int4", [
            ("run-llm", os.path.join(s, "ortgenai-int4-requant"), "ortgenai-int4-requant"),
            ("onnxruntime-genai", os.path.join(s, "ortgenai-int4-requant"), "ortgenai-int4-requant"),
            ("llama.cpp", gguf, "Q4_1 GGUF"),
            ("run-llm", os.path.join(s, "ortgenai-int4"), "ortgenai-int4 (= the GGUF's Q4_1/Q8_0 blocks)"),
        ], None),
        "smollm2-int8": ("SmolLM2-135M int8", [
            ("run-llm", os.path.join(s, "ortgenai-int8"), "ortgenai-int8"),
            ("onnxruntime-genai", os.path.join(s, "ortgenai-int8"), "ortgenai-int8"),
            ("llama.cpp", gguf, "Q4_1 GGUF (no int8 GGUF)"),
        ], None),
        "gemma3-270m": ("Gemma-3-270M int4", [
            ("run-llm", os.path.join(g, "ortgenai-int4-requant"), "ortgenai-int4-requant"),
            ("onnxruntime-genai", os.path.join(g, "ortgenai-int4-requant"), "ortgenai-int4-requant"),
            ("llama.cpp", os.path.join(g, "gemma-3-270m-q4_k_m.gguf"), "Q4_K_M GGUF"),
            ("run-llm", os.path.join(g, "ortgenai-int4"), "ortgenai-int4 (= the GGUF's blocks)"),
        ], None),
        # bench/compare/make_synthetic.py writes these (random weights, real shapes).
        "qwen2.5-0.5b-synthetic": synthetic("qwen2.5-0.5b", "Qwen2.5-0.5B shape, random Q4_0 weights", None),
        "phi-3.5-mini-synthetic": synthetic("phi-3.5-mini", "Phi-3.5-mini (3.8B) shape, random Q4_0 weights",
                                            ([2], [128, 512])),
    }


def weight_bytes(engine, path):
    """Bytes of weights one decoded token reads: every tensor once, except an
    embedding table used only by a lookup (one row). A tied embedding counts,
    read whole as the lm_head."""
    if engine == "llama.cpp":
        from gguf import GGUFReader
        tensors = {t.name: int(t.n_bytes) for t in GGUFReader(path).tensors}
        if "output.weight" in tensors:
            tensors.pop("token_embd.weight", None)
        return sum(tensors.values())
    import onnx
    with open(os.path.join(path, "genai_config.json")) as f:
        name = json.load(f)["model"]["decoder"]["filename"]
    model = onnx.load(os.path.join(path, name), load_external_data=False)
    sizes = {}
    for t in model.graph.initializer:
        ext = {e.key: e.value for e in t.external_data}
        sizes[t.name] = int(ext["length"]) if "length" in ext else len(t.raw_data)
    uses = {}
    for node in model.graph.node:
        for k, name in enumerate(node.input):
            if name in sizes:
                uses.setdefault(name, []).append((node.op_type, k))
    lookup_only = [n for n, u in uses.items() if all(op in ("Gather", "GatherBlockQuantized") and k == 0
                                                     for op, k in u)]
    return sum(v for n, v in sizes.items() if n not in lookup_only)


def run_one(engine, path, threads, p, n, run_llm):
    if engine == "run-llm":
        cmd = [run_llm, "bench", path, "-p", str(p), "-n", str(n), "-t", str(threads), "-r", "1", "--json"]
    else:
        script = {"onnxruntime-genai": "ortgenai_run.py", "llama.cpp": "llamacpp_run.py"}[engine]
        cmd = [sys.executable, os.path.join(HERE, script), path, str(threads), str(p), str(n)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if engine == "run-llm":  # one run: lists of one figure
        r["prefill_s"] = p / r["prefill_tok_s"][0]
        r["decode_steps"] = n - 1
        r["decode_s"] = (n - 1) / r["decode_tok_s"][0] if n > 1 else 0.0
        r["ttft_s"] = r["ttft_s"][0]
    r["prefill_tok_s"] = p / r["prefill_s"]
    r["decode_tok_s"] = r["decode_steps"] / r["decode_s"] if r["decode_steps"] else 0.0
    return r


def stats(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def cpu_info():
    name, flags = platform.processor(), []
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k.strip() == "model name":
                name = v.strip()
            elif k.strip() == "flags":
                flags = v.split()
            if name and flags:
                break
    keep = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx_vnni"]
    return name, [f for f in keep if f in flags]


def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()


def fmt(s, scale=1.0, digits=1):
    return f"{s['median'] * scale:.{digits}f} ({s['min'] * scale:.{digits}f}–{s['max'] * scale:.{digits}f})"


def markdown(doc):
    env = doc["environment"]
    bw = env["dram_read_GB_s"]
    lines = [SECTION, "",
             f"- date: {doc['date']}; commit: `{doc['commit']}`; command: `{doc['command']}`",
             f"- CPU: {env['cpu']} ({', '.join(env['simd'])}); run-llm kernels: {env['run_llm_kernels']}; "
             f"{env['cores']} cores; 1-minute load average {env['load_average_1min'][0]:.2f} before, "
             f"{env['load_average_1min'][1]:.2f} after (the runs themselves add ~1-2)",
             *([f"- **the machine was not idle** (load average {env['load_average_1min'][0]:.2f} before the runs "
                f"on {env['cores']} cores): other processes shared the cores, so these figures are low and noisy "
                "(llama.cpp's spinning OpenMP threads suffer most) and so is the bandwidth probe, which is why a "
                "% roofline can exceed 100%; re-run on an idle machine before quoting them"]
               if env["load_average_1min"][0] >= 0.5 else []),
             "- DRAM read bandwidth, measured in this session by `run-llm bench` (256 MiB streaming read, "
             "best of 5, in every run-llm run; median): "
             + ", ".join(f"{t} thread{'s' if t != '1' else ''} {v:.1f} GB/s" for t, v in bw.items()),
             f"- versions: onnxruntime-genai {env.get('onnxruntime-genai', '?')}, "
             f"llama-cpp-python {env.get('llama.cpp', '?')} (built from source, GGML_NATIVE=ON)",
             f"- every figure: median (min–max) of {doc['runs']} runs, each a fresh process; engines alternate "
             "run by run. Prompt = fixed ids, fresh KV cache, "
             f"{doc['generated']} generated tokens (1 from the prefill + {doc['generated'] - 1} decode steps, greedy).",
             "- TTFT = prefill + first sample, after load and a 4-token warm-up. Load = model constructor "
             "(`Model::load`, `og.Model`, `Llama(...)`), Python import time excluded. Peak RSS = the process's "
             "VmHWM (Python drivers include the interpreter, ~20 MB after imports; run-llm resets it after its "
             "bandwidth probe).",
             "- % roofline = decode tok/s ÷ (bandwidth at that thread count ÷ weight bytes per token); "
             "weight bytes = the row's initializers or GGUF tensors, less an untied embedding table (a lookup reads one row); "
             "KV reads not counted.",
             "- onnxruntime-genai runs `ortgenai-int4-requant` (MatMulNBits with uint8 zero points): on `ortgenai-int4` "
             "(Q4_1 carried exactly, float zero points) onnxruntime is ~35x slower, so that folder is only run by run-llm.",
             ""]
    for group in doc["groups"]:
        lines += [f"### {group['title']}", "",
                  "| engine | weights | MB/token | threads | prompt | prefill tok/s | decode tok/s | TTFT ms | load s "
                  "| peak RSS MB | decode % roofline |",
                  "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for row in group["rows"]:
            s = row["summary"]
            if not s:
                lines.append(f"| {row['engine']} | {row['weights']} | {row['weight_bytes'] / 1e6:.1f} | "
                             f"{row['threads']} | {row['prompt_tokens']} | failed (error in the JSON) | | | | | |")
                continue
            # No roofline when the group ran without run-llm, whose runs probe the bandwidth.
            roofline = f"{s['decode_roofline_pct']['median']:.0f}%" if "decode_roofline_pct" in s else ""
            label = row["weights"]
            if row["runs_ok"] < doc["runs"]:
                label += f" ({row['runs_ok']} of {doc['runs']} runs ok)"
            lines.append(
                f"| {row['engine']} | {label} | {row['weight_bytes'] / 1e6:.1f} | {row['threads']} | "
                f"{row['prompt_tokens']} | {fmt(s['prefill_tok_s'])} | {fmt(s['decode_tok_s'])} | "
                f"{fmt(s['ttft_s'], 1e3, 0)} | {fmt(s['load_s'], 1, 2)} | {fmt(s['peak_rss_bytes'], 1e-6, 0)} | "
                f"{roofline} |")
        lines.append("")
    return "\n".join(lines)


def write_section(path, text):
    old = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("\n" + old[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(new.rstrip("\n") + "\n")


def chart(doc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(doc["groups"]), 2, figsize=(14, 4.5 * len(doc["groups"])), squeeze=False)
    for gi, group in enumerate(doc["groups"]):
        cases = sorted({(r["threads"], r["prompt_tokens"]) for r in group["rows"]})
        series = []
        for r in group["rows"]:
            key = f"{r['engine']} · {r['weights']}"
            if key not in series:
                series.append(key)
        for ai, metric in enumerate(["prefill_tok_s", "decode_tok_s"]):
            ax = axes[gi][ai]
            width = 0.8 / len(series)
            for si, key in enumerate(series):
                xs, ys, lo, hi = [], [], [], []
                for ci, case in enumerate(cases):
                    for r in group["rows"]:
                        if (f"{r['engine']} · {r['weights']}" == key and (r["threads"], r["prompt_tokens"]) == case
                                and r["summary"]):
                            s = r["summary"][metric]
                            xs.append(ci + si * width - 0.4 + width / 2)
                            ys.append(s["median"])
                            lo.append(s["median"] - s["min"])
                            hi.append(s["max"] - s["median"])
                ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=key)
            ax.set_xticks(range(len(cases)))
            ax.set_xticklabels([f"{t} thr, p{p}" for t, p in cases])
            ax.set_title(f"{group['title']}: {metric.replace('_tok_s', '')} tok/s", fontsize=9)
            ax.set_ylabel("tokens/s")
            ax.legend(fontsize=7)
    fig.suptitle(f"{doc['environment']['cpu']} — {doc['date']} — {doc['commit']}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="smollm2-int4,smollm2-int8,gemma3-270m")
    ap.add_argument("--prompts", default="128,512")
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engines", default="run-llm,onnxruntime-genai,llama.cpp")
    ap.add_argument("--run-llm", default=os.path.join(ROOT, "build", "engine", "run-llm"))
    ap.add_argument("--results-md", default=os.path.join(ROOT, "bench", "RESULTS.md"),
                    help="file whose end-to-end section is replaced ('' to skip)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--command", default="bench/compare.sh", help="recorded in the results")
    ap.add_argument("--from-json", help="only re-render RESULTS.md and the chart from an earlier JSON")
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            doc = json.load(f)
        publish(doc, a)
        return
    sets = model_sets()
    engines = a.engines.split(",")
    prompts = [int(x) for x in a.prompts.split(",")]
    threads = [int(x) for x in a.threads.split(",")]

    groups, raw, bandwidth, versions, isa = [], [], {}, {}, "?"
    load_before = os.getloadavg()[0]
    for name in a.models.split(","):
        title, rows, limits = sets[name]
        rows = [r for r in rows if r[0] in engines]
        g_threads = [t for t in threads if not limits or t in limits[0]]
        g_prompts = [p for p in prompts if not limits or p in limits[1]]
        for engine, path, _ in rows:
            if not os.path.exists(path):
                sys.exit(f"compare: {path} is missing; fetch and convert with: bash scripts/fetch_models.sh"
                         " (synthetic models: .venv/bin/python bench/compare/make_synthetic.py)")
        wbytes = [weight_bytes(e, p) for e, p, _ in rows]
        results = {}
        for t in g_threads:
            for p in g_prompts:
                for run in range(a.runs):
                    for k in range(len(rows)):  # rotate the order so no engine always goes first
                        i = (k + run) % len(rows)
                        engine, path, label = rows[i]
                        try:
                            r = run_one(engine, path, t, p, a.gen, a.run_llm)
                        except RuntimeError as e:  # keep going: the row reports the failure
                            print(f"compare: {e}", file=sys.stderr, flush=True)
                            raw.append({"group": name, "engine": engine, "weights": label, "threads": t,
                                        "prompt_tokens": p, "run": run, "error": str(e)[-2000:]})
                            results.setdefault((i, t, p), [])
                            continue
                        r.update(group=name, weights=label, run=run)
                        raw.append(r)
                        results.setdefault((i, t, p), []).append(r)
                        if engine == "run-llm":
                            bandwidth.setdefault(t, []).append(r["dram_read_bytes_per_s"])
                            isa = r["kernels"]
                        else:
                            versions[engine] = r["version"]
                        print(f"[{time.strftime('%H:%M:%S')}] {title} t{t} p{p} run {run + 1}/{a.runs} "
                              f"{engine} ({label}): prefill {r['prefill_tok_s']:.1f} tok/s, "
                              f"decode {r['decode_tok_s']:.1f} tok/s", flush=True)
        group_rows = []
        for (i, t, p), rs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
            engine, path, label = rows[i]
            summary = {k: stats([r[k] for r in rs])
                       for k in ["prefill_tok_s", "decode_tok_s", "ttft_s", "load_s", "peak_rss_bytes"]} if rs else {}
            group_rows.append({"engine": engine, "weights": label, "path": path, "weight_bytes": wbytes[i],
                               "threads": t, "prompt_tokens": p, "runs_ok": len(rs), "summary": summary})
        if group_rows:
            groups.append({"name": name, "title": title, "rows": group_rows})

    bw = {t: statistics.median(v) for t, v in bandwidth.items()}
    for g in groups:
        for row in g["rows"]:
            if row["threads"] in bw and row["summary"]:
                roof = bw[row["threads"]] / row["weight_bytes"]
                row["summary"]["decode_roofline_pct"] = {
                    k: 100 * v / roof for k, v in row["summary"]["decode_tok_s"].items()}
    cpu, simd = cpu_info()
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD") + dirty,
        "command": a.command, "runs": a.runs, "generated": a.gen,
        "environment": {"cpu": cpu, "simd": simd, "cores": os.cpu_count(), "run_llm_kernels": isa,
                        "dram_read_GB_s": {str(t): v / 1e9 for t, v in sorted(bw.items())},
                        "load_average_1min": [load_before, os.getloadavg()[0]], **versions},
        "groups": groups, "runs_raw": raw,
    }
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in [f"compare-{stamp}.json", "compare-latest.json"]:
        with open(os.path.join(a.out, name), "w") as f:
            json.dump(doc, f, indent=1)
    publish(doc, a)


def publish(doc, a):
    text = markdown(doc)
    print("\n" + text)
    if a.results_md:
        write_section(a.results_md, text)
    os.makedirs(a.out, exist_ok=True)
    try:
        chart(doc, os.path.join(a.out, "compare-latest.png"))
    except ImportError:
        print("compare: matplotlib missing, no chart (pip install matplotlib into .venv)")


if __name__ == "__main__":
    main()
