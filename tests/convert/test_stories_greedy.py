"""(b) greedy decoding of "Once upon a time" on the fp32 stories260K export with onnxruntime
continues with the text given in ../shared/models/README.md (BOS prepended, as llama2.c does).
usage: test_stories_greedy.py MODELS_DIR SHARED_MODELS_DIR
"""
import os
import sys

import sentencepiece as spm

from ort_runner import OrtDecoder, require_folder

EXPECTED = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park"


def main() -> int:
    models, shared = sys.argv[1], sys.argv[2]
    folder = os.path.join(models, "stories260K-fp32")
    require_folder(folder)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(shared, "stories260K", "tok512.model"))
    prompt = [sp.bos_id()] + sp.encode("Once upon a time")
    out = OrtDecoder(folder).greedy(prompt, 32)
    text = sp.decode(prompt[1:] + out)
    if not text.startswith(EXPECTED):
        print(f"FAIL: greedy text {text!r} does not start with {EXPECTED!r}")
        return 1
    print(f"OK: {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
