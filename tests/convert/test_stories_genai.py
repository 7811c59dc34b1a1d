"""(c) onnxruntime-genai loads each stories260K folder (fp32, fp16, bf16, int8, int4) and generates.

For every folder: genai's tokenizer encodes "Once upon a time" to the sentencepiece ids, and
genai's greedy tokens (40 new) equal plain onnxruntime's greedy tokens on the same model.onnx.
genai's tokenizer (onnxruntime-extensions) does not add BOS for this tokenizer layout, nor for the
genuine builder fixture ortgenai-tiny-random-llama-fp16, so BOS is prepended here as llama2.c does.
fp16 runs on the CPU in onnxruntime-genai 0.18.0 for this model (checked here), so no fallback.
usage: test_stories_genai.py MODELS_DIR SHARED_MODELS_DIR
"""
import os
import sys

import sentencepiece as spm

from ort_runner import SKIP, OrtDecoder, require_folder

NEW = 40


def main() -> int:
    models, shared = sys.argv[1], sys.argv[2]
    try:
        import onnxruntime_genai as og
    except ImportError as e:
        print(f"SKIP: onnxruntime-genai not importable ({e})")
        return SKIP
    sp = spm.SentencePieceProcessor(model_file=os.path.join(shared, "stories260K", "tok512.model"))
    expected_ids = sp.encode("Once upon a time")
    failed = False
    for p in ("fp32", "fp16", "bf16", "int8", "int4"):
        folder = os.path.join(models, f"stories260K-{p}")
        require_folder(folder)
        model = og.Model(folder)
        tok = og.Tokenizer(model)
        ids = [int(i) for i in tok.encode("Once upon a time")]
        if ids != expected_ids:
            print(f"FAIL: {p}: genai tokenizer gives {ids}, sentencepiece {expected_ids}")
            failed = True
            continue
        prompt = [1] + ids
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(prompt) + NEW, do_sample=False)
        gen = og.Generator(model, params)
        gen.append_tokens(prompt)
        while not gen.is_done():
            gen.generate_next_token()
        got = [int(t) for t in gen.get_sequence(0)][len(prompt):]
        want = OrtDecoder(folder).greedy(prompt, NEW)
        if got != want:
            n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            print(f"FAIL: {p}: genai and onnxruntime greedy part at token {n}: {got} vs {want}")
            failed = True
            continue
        print(f"OK: {p}: {NEW} greedy tokens equal; text {sp.decode(prompt[1:] + got)!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
