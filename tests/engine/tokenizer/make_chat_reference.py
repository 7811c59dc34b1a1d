"""Writes chat-template references rendered by transformers' apply_chat_template.

  make_chat_reference.py OUT

OUT is JSON: {"cases": [{"template" (file name or model folder), "folder" (bool),
"bos", "eos", "messages", "add_generation_prompt", "text" or "error"}]}.
Exits 77 with the reason on stderr when transformers (or jinja2) is missing.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "../../../../shared/models")

SYSTEM = {"role": "system", "content": "You are a terse assistant.\nAnswer in one line."}
CONVERSATIONS = [
    [{"role": "user", "content": "Hi there!"}],
    [SYSTEM, {"role": "user", "content": "What is 2+2?"}],
    [SYSTEM, {"role": "user", "content": "  Hello  "}, {"role": "assistant", "content": " Hi! How can I help? "},
     {"role": "user", "content": "Tell me a joke about \"quotes\" and 'apostrophes'."}],
    [SYSTEM, {"role": "user", "content": "Line one\nLine two\n\n"}, {"role": "assistant", "content": "Ok."},
     {"role": "user", "content": "Unicode: 你好 😀 é"}, {"role": "assistant", "content": "Done.\n"},
     {"role": "user", "content": "{{ not a template }} {% neither %}"}],
    [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
     {"role": "assistant", "content": "d"}, {"role": "user", "content": "e"}, {"role": "assistant", "content": "f"},
     {"role": "user", "content": "g"}],
    [{"role": "user", "content": "one"}, {"role": "user", "content": "two in a row"}],
    [{"role": "assistant", "content": "assistant first"}],
]


def main():
    try:
        import jinja2  # noqa: F401
        import transformers
    except ImportError as e:
        print(f"skip: {e.name} is not installed in this python", file=sys.stderr)
        sys.exit(77)
    transformers.logging.set_verbosity_error()
    base = transformers.PreTrainedTokenizerFast(
        tokenizer_file=os.path.join(MODELS, "tokenizers/gpt2-tokenizer.json"), bos_token="<s>", eos_token="</s>")
    jobs = []
    for name in sorted(os.listdir(os.path.join(HERE, "chat_templates"))):
        with open(os.path.join(HERE, "chat_templates", name), encoding="utf-8") as f:
            jobs.append((name, False, base, f.read()))
    for folder in ("smollm2-135m-instruct-int4-ortgenai", "ortgenai-tiny-random-llama-fp16"):
        tok = transformers.AutoTokenizer.from_pretrained(os.path.join(MODELS, folder))
        jobs.append((folder, True, tok, None))
    cases = []
    for name, is_folder, tok, template in jobs:
        for messages in CONVERSATIONS:
            for gen in (False, True):
                case = {"template": name, "folder": is_folder, "bos": tok.bos_token or "", "eos": tok.eos_token or "",
                        "messages": messages, "add_generation_prompt": gen}
                try:
                    case["text"] = tok.apply_chat_template(messages, chat_template=template, tokenize=False,
                                                           add_generation_prompt=gen)
                except Exception as e:  # raise_exception in the template
                    case["error"] = str(e)
                cases.append(case)
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, ensure_ascii=True)


if __name__ == "__main__":
    main()
