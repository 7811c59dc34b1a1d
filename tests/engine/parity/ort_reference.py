"""Reference logits from onnxruntime for a decoder model folder.

For each prompt: prefill, then greedy decode for --steps steps, feeding the
graph's present KV back as past (--engine ort), or through onnxruntime-genai's
own generator on the folder as a user runs it (--engine genai; prompts may
then be given as text, tokenized and chat-templated by onnxruntime-genai). Writes, per prompt, the last-position logits
of every step and the greedy token onnxruntime picked, to a little binary file
the C++ parity test reads:
  int32 rows; per row: int32 n_prompt, int32 ids[n_prompt], int32 steps, int32 vocab,
  then per step: int32 token, float32 logits[vocab].
Exit 77 (skip) when onnxruntime is not installed.
"""
import argparse
import json
import os
import struct
import sys

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

ONNX_TO_NP = {1: np.float32, 10: np.float16, 7: np.int64, 6: np.int32}


def decoder_config(model):
    """genai_config.json's decoder section, or for a bare .onnx (or a folder holding only
    model.onnx, as optimum exports) one with the default names."""
    cfg_path = os.path.join(model, "genai_config.json")
    if os.path.isdir(model) and os.path.exists(cfg_path):
        dec = json.load(open(cfg_path))["model"]["decoder"]
        return os.path.join(model, dec["filename"]), dec
    return (os.path.join(model, "model.onnx") if os.path.isdir(model) else model), {}


def run(model, prompts, steps):
    path, dec = decoder_config(model)
    names = {**{"input_ids": "input_ids", "attention_mask": "attention_mask", "position_ids": "position_ids",
                "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"},
             **dec.get("inputs", {}),
             **{"logits": "logits", "present_key_names": "present.%d.key", "present_value_names": "present.%d.value"},
             **dec.get("outputs", {})}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in sess.get_inputs()}
    if dec:
        layers = dec["num_hidden_layers"]
        kvh, hd = dec["num_key_value_heads"], dec["head_size"]
    else:
        layers = sum(1 for l in range(len(inputs)) if names["past_key_names"] % l in inputs)
        _, kvh, _, hd = inputs[names["past_key_names"] % 0].shape
    out_names = [o.name for o in sess.get_outputs()]
    rows = []
    for prompt in prompts:
        ids = list(prompt)
        past = {}
        for l in range(layers):
            for tmpl in (names["past_key_names"], names["past_value_names"]):
                n = tmpl % l
                dt = ONNX_TO_NP[{"tensor(float)": 1, "tensor(float16)": 10}[inputs[n].type]]
                past[n] = np.zeros((1, kvh, 0, hd), dtype=dt)
        step_tokens, step_logits = [], []
        new = ids
        total = 0
        for _ in range(steps + 1):
            feed = dict(past)
            feed[names["input_ids"]] = np.array([new], dtype=np.int64)
            total += len(new)
            if names["attention_mask"] in inputs:
                feed[names["attention_mask"]] = np.ones((1, total), dtype=np.int64)
            if names["position_ids"] in inputs:
                feed[names["position_ids"]] = np.arange(total - len(new), total, dtype=np.int64)[None, :]
            outs = dict(zip(out_names, sess.run(None, feed)))
            logits = outs[names["logits"]][0, -1].astype(np.float32)
            tok = int(np.argmax(logits))
            step_tokens.append(tok)
            step_logits.append(logits)
            for l in range(layers):
                past[names["past_key_names"] % l] = outs[names["present_key_names"] % l]
                past[names["past_value_names"] % l] = outs[names["present_value_names"] % l]
            new = [tok]
        rows.append((ids, step_tokens, step_logits))
    return rows


def run_genai(model_dir, prompts, texts, chats, steps):
    try:
        import onnxruntime_genai as og
    except ImportError as e:
        print(f"skip: {e}")
        sys.exit(77)
    model = og.Model(model_dir)
    tok = og.Tokenizer(model)
    prompts = list(prompts) + [[int(x) for x in tok.encode(t)] for t in texts]
    for c in chats:
        text = tok.apply_chat_template(json.dumps([{"role": "user", "content": c}]), add_generation_prompt=True)
        prompts.append([int(x) for x in tok.encode(text)])
    rows = []
    for ids in prompts:
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(ids) + steps + 1, do_sample=False)
        gen = og.Generator(model, params)
        gen.append_tokens(ids)
        step_tokens, step_logits = [], []
        # append_tokens runs the model at once; generate_next_token would defer
        # the run of its pick to the next call, leaving get_output stale.
        for _ in range(steps + 1):
            logits = np.asarray(gen.get_output("logits"))[0, -1].astype(np.float32)
            tok = int(np.argmax(logits))
            step_tokens.append(tok)
            step_logits.append(logits)
            gen.append_tokens([tok])
        rows.append((ids, step_tokens, step_logits))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", help="a genai_config.json folder, a folder holding model.onnx, or a .onnx file")
    ap.add_argument("out")
    ap.add_argument("--prompt", action="append", default=[], help="comma-separated ids")
    ap.add_argument("--text", action="append", default=[], help="raw text (--engine genai)")
    ap.add_argument("--chat", action="append", default=[], help="a user message, chat-templated (--engine genai)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--emulated-steps", type=int, help="--steps when RLLM_EMULATED is set (tests/emulated.h): the test then compares as many")
    ap.add_argument("--engine", choices=["ort", "genai"], default="ort")
    a = ap.parse_args()
    if not os.path.exists(a.model_dir):
        print(f"skip: {a.model_dir} is absent")
        sys.exit(77)
    ids = [[int(x) for x in p.split(",")] for p in a.prompt]
    if a.emulated_steps is not None and os.environ.get("RLLM_EMULATED", "0") not in ("", "0"):
        a.steps = a.emulated_steps
    if a.engine == "genai":
        rows = run_genai(a.model_dir, ids, a.text, a.chat, a.steps)
    else:
        rows = run(a.model_dir, ids, a.steps)
    with open(a.out, "wb") as f:
        f.write(struct.pack("<i", len(rows)))
        for ids, toks, logits in rows:
            f.write(struct.pack("<i", len(ids)) + struct.pack(f"<{len(ids)}i", *ids))
            f.write(struct.pack("<ii", len(toks), logits[0].size))
            for t, lg in zip(toks, logits):
                f.write(struct.pack("<i", t) + lg.astype("<f4").tobytes())


if __name__ == "__main__":
    main()
