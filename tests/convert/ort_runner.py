"""Drive an ONNX Runtime GenAI folder's model.onnx with plain onnxruntime (past/present KV)."""
from __future__ import annotations

import json
import os

import numpy as np
import onnxruntime as ort

SKIP = 77
# scripts/cross_aarch64.sh sets RLLM_EMULATED=1 (tests/emulated.h): run-llm runs under qemu, and
# the real-model tests check a smaller workload.
EMULATED = os.environ.get("RLLM_EMULATED", "0") not in ("", "0")


class OrtDecoder:
    def __init__(self, folder: str):
        with open(os.path.join(folder, "genai_config.json")) as f:
            dec = json.load(f)["model"]["decoder"]
        self.layers = dec["num_hidden_layers"]
        self.kv_heads = dec["num_key_value_heads"]
        self.head_size = dec["head_size"]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.sess = ort.InferenceSession(os.path.join(folder, "model.onnx"), opts, providers=["CPUExecutionProvider"])
        logits_type = next(o.type for o in self.sess.get_outputs() if o.name == "logits")
        self.dtype = np.float16 if logits_type == "tensor(float16)" else np.float32
        self.reset()

    def reset(self):
        empty = np.zeros((1, self.kv_heads, 0, self.head_size), self.dtype)
        self.past = {f"past_key_values.{i}.{k}": empty for i in range(self.layers) for k in ("key", "value")}
        self.length = 0

    def step(self, ids: list[int]) -> np.ndarray:
        """Feed ids after the cached ones; returns float32 logits [len(ids), vocab]."""
        self.length += len(ids)
        feeds = {"input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, self.length), np.int64), **self.past}
        names = [o.name for o in self.sess.get_outputs()]
        out = dict(zip(names, self.sess.run(None, feeds)))
        for i in range(self.layers):
            for k in ("key", "value"):
                self.past[f"past_key_values.{i}.{k}"] = out[f"present.{i}.{k}"]
        return out["logits"][0].astype(np.float32)

    def greedy(self, prompt: list[int], n: int) -> list[int]:
        self.reset()
        logits = self.step(prompt)[-1]
        out = []
        for _ in range(n):
            nxt = int(np.argmax(logits))
            out.append(nxt)
            logits = self.step([nxt])[-1]
        return out


def require_folder(path: str) -> None:
    if not os.path.isfile(os.path.join(path, "model.onnx")):
        print(f"SKIP: {path} not found; run scripts/setup.sh (or scripts/convert/make_test_models.sh) first")
        raise SystemExit(SKIP)
