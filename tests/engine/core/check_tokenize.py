"""run-llm tokenize --file / --text prints the ids HF tokenizers gives for the same text."""
import os
import subprocess
import sys
import tempfile

try:
    from tokenizers import Tokenizer
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

run_llm, model_dir = sys.argv[1], sys.argv[2]
ref = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
lines = ["Once upon a time", "The capital of France is Paris.", "  spaces\tand tabs  ", "naïve café 東京 🙂", "x = f(1, 2) + 3"]
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
    path = f.name
out = subprocess.run([run_llm, "tokenize", model_dir, "--file", path], capture_output=True, text=True, check=True).stdout
os.unlink(path)
got = [[int(x) for x in line.split()] for line in out.splitlines()]
want = [ref.encode(s).ids for s in lines]
text = "line one\nline two"
got_text = [int(x) for x in subprocess.run([run_llm, "tokenize", model_dir, "--text", text], capture_output=True,
                                           text=True, check=True).stdout.split()]
if got != want or got_text != ref.encode(text).ids:
    print("run-llm:", got, got_text)
    print("tokenizers:", want, ref.encode(text).ids)
    sys.exit(1)
print(f"{len(lines)} lines and one multi-line text tokenized as HF tokenizers does")
