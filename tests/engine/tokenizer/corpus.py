"""Deterministic corpus of varied strings for tokenizer parity tests.

Scripts and languages, emoji (ZWJ sequences, skin tones, flags), code, whitespace runs
of every kind, digits, contractions, control characters, the empty string, very long
words and inputs, and a tokenizer's own special tokens inline.
"""
import random

FRAGMENTS = [
    "Hello world", "Hello  world", " leading space", "trailing space ", "  two leading",
    "I'm", "don't", "They'LL", "it's", "we've", "she'd", "'s", "'S", "you're", "O'Neil's",
    "The quick brown fox jumps over the lazy dog.", "UPPER lower MiXeD",
    "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; ++i) { a[i] += b[i]; }",
    "if x == 1:\n\tpass\n", "#include <stdio.h>", "std::vector<int> v{1, 2, 3};",
    '{"key": [1, 2.5, null], "s": "v"}', "<div class=\"a\">text</div>", "SELECT * FROM t WHERE id = 42;",
    "https://example.com/path?q=1&r=two#frag", "user.name+tag@example.org",
    "12345", "3.14159", "1,000,000", "2024-01-31T12:34:56Z", "0x7fff", "1e-9", "٣٤٥", "१२३", "①②③", "Ⅻ",
    "123456789012345678901234567890", "v1.2.3-rc4",
    "你好，世界！", "日本語のテキストです。", "한국어 문장입니다.", "Привет, мир!", "Γειά σου κόσμε",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Xin chào thế giới",
    "Tiếng Việt có dấu", "ἀρχὴ", "Ελληνικά", "ქართული", "Հայերեն", "ខ្មែរ", "ᠮᠣᠩᠭᠣᠯ",
    "e\u0301 combining", "n\u0303o", "ﬁ ligature", "Å Å", "ß ẞ", "İstanbul ı",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "✨🎉", "🤖 robots", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚",
    "∀x∈ℝ: x²≥0", "∑_{i=1}^{n} i = n(n+1)/2", "→ ← ↑ ↓", "┌─┐│└┘", "©®™", "€£¥₹", "½ ¾",
    "\u00a0nbsp\u00a0", "ideographic\u3000space", "line\u2028sep", "para\u2029sep", "nel\u0085x",
    "mongolian\u180evs", "zero\u200bwidth", "\ufeffbom", "soft\u00adhyphen", "rtl\u200fmark",
    "tab\there", "cr\rlf\r\n", "\x00nul", "\x01\x02\x1f", "del\x7f", "\x0b\x0c",
    "...", "!!!", "???", "---", "___", "***", "``` code ```", "<<>>", "$$", "%%", "&&||",
    "a", "Z", "0", " ", "\n", "\t", "\n\n", "\r\n", "  ", "   ", "\t\t", " \n ", "\n \n",
]

WHITESPACE = [" ", "  ", "   ", "    ", " " * 8, " " * 17, " " * 33, "\t", "\t\t", "\t\t\t\t\t",
              "\n", "\n\n", "\n\n\n", "\r\n", " \t ", "\t \n", "\u00a0", "\u3000", "\u2003", ""]

RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
          (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x2190, 0x23FF),
          (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF),
          (0x1F300, 0x1FAFF), (0x1D400, 0x1D7FF), (0x20000, 0x2A6DF), (0x0, 0x1F)]


def random_codepoints(rng):
    lo, hi = rng.choice(RANGES)
    return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 12)))


def build(specials, count=2400, seed=1234):
    rng = random.Random(seed)
    out = [""] + FRAGMENTS + [w * k for w in ("a", "ab", " a", "1", "😀", "é") for k in (2, 7, 40)]
    out += WHITESPACE[:-1]
    # Words past WordPiece's max_input_chars_per_word (100) and inputs past a 128-token truncation.
    out += ["a" * 101, "x" * 150 + " y", "é" * 101, "supercalifragilistic" * 6, "word " * 300,
            " ".join(FRAGMENTS[:60]), "Ünïcödé " * 150, "1,000,000 " * 40, "你好" * 70]
    out += [s for s in specials]
    out += [f"Hello{s}world" for s in specials[:8]]
    out += [f" {s} x {s}" for s in specials[:8]]
    while len(out) < count:
        kind = rng.random()
        if kind < 0.45:
            parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 6))]
            text = "".join(p + rng.choice(WHITESPACE) for p in parts)
        elif kind < 0.65:
            text = "".join(random_codepoints(rng) + rng.choice(WHITESPACE) for _ in range(rng.randint(1, 4)))
        elif kind < 0.8 and specials:
            parts = []
            for _ in range(rng.randint(1, 5)):
                parts.append(rng.choice(FRAGMENTS))
                parts.append(rng.choice(WHITESPACE))
                if rng.random() < 0.6:
                    parts.append(rng.choice(specials))
            text = "".join(parts)
        elif kind < 0.9:
            text = rng.choice(WHITESPACE) + str(rng.randint(0, 10 ** rng.randint(1, 25))) + rng.choice(WHITESPACE)
        else:
            words = ["".join(chr(rng.randint(0x61, 0x7A)) for _ in range(rng.randint(1, 14))) for _ in range(rng.randint(1, 20))]
            text = " ".join(words)
        out.append(text)
    return out
