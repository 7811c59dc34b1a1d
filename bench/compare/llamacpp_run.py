"""One llama.cpp run (llama-cpp-python) in this process: load GGUF with T
threads, warm up, prefill P fixed ids, then decode greedily until N tokens
(the first comes from the prefill logits; EOS is ignored). Prints one JSON line.

usage: llamacpp_run.py GGUF THREADS P N
"""
import sys

import llama_cpp
import numpy as np

from common import emit, now, peak_rss_bytes, prompt_ids, rss_bytes


def main():
    path, threads, p, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rss_imports = rss_bytes()
    t0 = now()
    llm = llama_cpp.Llama(model_path=path, n_ctx=p + n + 16, n_batch=512, n_ubatch=512,
                          n_threads=threads, n_threads_batch=threads, verbose=False)
    load_s = now() - t0
    vocab = llm.n_vocab()

    def argmax_last():
        # Llama.eval keeps no logits without logits_all: read the context's last output row.
        ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(vocab,))))

    llm.reset()
    llm.eval(prompt_ids(4, vocab))
    llm.eval([argmax_last()])

    llm.reset()  # the next eval drops every cached position past n_tokens = 0
    ids = prompt_ids(p, vocab)
    t0 = now()
    llm.eval(ids)
    prefill_s = now() - t0
    tok = argmax_last()
    ttft_s = now() - t0
    t1 = now()
    for _ in range(n - 1):
        llm.eval([tok])
        tok = argmax_last()
    decode_s = now() - t1
    emit(engine="llama.cpp", version=llama_cpp.__version__, model=path, threads=threads,
         prompt_tokens=p, generated_tokens=n, load_s=load_s, prefill_s=prefill_s, ttft_s=ttft_s,
         decode_s=decode_s, decode_steps=n - 1, peak_rss_bytes=peak_rss_bytes(),
         rss_after_imports_bytes=rss_imports)


if __name__ == "__main__":
    main()
