"""Reproducible English sentences for calibration and similarity checks, cut
from the Python documentation topics that ship with CPython's standard library
(pydoc_data.topics: Debian's libpython3.11-stdlib, any CPython), so every
machine draws the same text without a download."""
import re


def corpus_sentences(min_words=5, max_words=40):
    import pydoc_data.topics as topics
    out, seen = [], set()
    for key in sorted(topics.topics):
        text = re.sub(r"\s+", " ", topics.topics[key])
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text):
            s = s.strip()
            words = s.split()
            # Prose only: no code lines, tables or grammar rules.
            if not (min_words <= len(words) <= max_words) or not s.endswith(".") or s in seen:
                continue
            if re.search(r"[=*|{}<>\[\]]|:::|\.\.\.|\*\*", s):
                continue
            seen.add(s)
            out.append(s)
    return out


def calibration_sentences(n=32):
    """Every 50th corpus sentence, n of them."""
    return corpus_sentences()[::50][:n]


def sentence_pairs(n=300):
    """n pairs: neighbours in the text (often related) alternating with pairs
    far apart (mostly unrelated), so cosine scores spread over a wide range."""
    s = corpus_sentences()
    pairs = []
    for i in range(n):
        a = (i * 7) % (len(s) - 1)
        b = a + 1 if i % 2 == 0 else (a * 31 + 17) % len(s)
        pairs.append((s[a], s[b]))
    return pairs


if __name__ == "__main__":
    c = corpus_sentences()
    print(len(c), "sentences; e.g.", c[:3])
