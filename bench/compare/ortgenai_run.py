"""One onnxruntime-genai run in this process: load FOLDER with T intra-op
threads, warm up, prefill P fixed ids, then generate until N tokens (the
first comes from the prefill logits). Prints one JSON line.

usage: ortgenai_run.py FOLDER THREADS P N
"""
import json
import sys

import onnxruntime_genai as og

from common import emit, now, peak_rss_bytes, prompt_ids, rss_bytes


def main():
    folder, threads, p, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rss_imports = rss_bytes()
    t0 = now()
    config = og.Config(folder)
    config.overlay(json.dumps({"model": {"decoder": {"session_options": {
        "intra_op_num_threads": threads, "inter_op_num_threads": 1}}}}))
    model = og.Model(config)
    load_s = now() - t0
    with open(f"{folder}/genai_config.json") as f:
        vocab = json.load(f)["model"]["vocab_size"]

    def generator(length):
        params = og.GeneratorParams(model)
        # min_length masks EOS so every run decodes the same number of steps.
        params.set_search_options(max_length=length, min_length=length, do_sample=False)
        return og.Generator(model, params)

    warm = generator(6)
    warm.append_tokens(prompt_ids(4, vocab))
    warm.generate_next_token()
    warm.generate_next_token()
    del warm

    gen = generator(p + n)
    ids = prompt_ids(p, vocab)
    t0 = now()
    gen.append_tokens(ids)
    prefill_s = now() - t0
    gen.generate_next_token()  # samples from the prefill logits
    ttft_s = now() - t0
    t1 = now()
    steps = 0
    while steps < n - 1 and not gen.is_done():
        gen.generate_next_token()
        steps += 1
    decode_s = now() - t1
    emit(engine="onnxruntime-genai", version=og.__version__, model=folder, threads=threads,
         prompt_tokens=p, generated_tokens=1 + steps, load_s=load_s, prefill_s=prefill_s,
         ttft_s=ttft_s, decode_s=decode_s, decode_steps=steps,
         peak_rss_bytes=peak_rss_bytes(), rss_after_imports_bytes=rss_imports)


if __name__ == "__main__":
    main()
