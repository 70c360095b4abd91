"""The text features the sentiment model reads, shared by training and inference.

One function, so the artifact's weights always meet the features they were
trained on; it needs only the stdlib, so the desk classifies without
scikit-learn. Chinese reviews are read as character 1-3-grams (no
segmentation is needed and unseen words still share characters); English
and other Latin-script words as word 1-2-grams.
"""

from __future__ import annotations

import re
import unicodedata

# Part of every artifact's version: change it whenever ``features`` reads a
# text differently, so an artifact is never read with features it was not
# trained on.
FEATURES_VERSION = "f1"

# Runs of CJK characters, and words of letters/digits (English, model numbers).
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z][a-z']*|\d+")
# Repeated punctuation and laughter carry sentiment ("!!!", "。。。", "???").
_MARKS = re.compile(r"[!?~]|\.\.\.|。。")

# English contractions read as their negation so "isn't" and "is not" meet.
_NOT = re.compile(r"n't\b")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, one space between words."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _NOT.sub(" not", text)
    return " ".join(text.split())


def features(text: str) -> set[str]:
    """The set of feature strings present in ``text`` (presence, not counts).

    Presence keeps one long review from outweighing its own opening line
    and makes the model's score a plain sum of weights at inference.
    """
    norm = normalize(text)
    out: set[str] = set()
    for run in _CJK.findall(norm):
        # Each run is padded so a phrase's start and end are features too
        # ("^差" is a review that opens with 差).
        padded = f"^{run}$"
        n = len(padded)
        for i in range(n):
            ch = padded[i]
            if ch not in "^$":
                out.add(ch)
            if i + 2 <= n:
                out.add(padded[i : i + 2])
            if i + 3 <= n:
                out.add(padded[i : i + 3])
    words = _WORD.findall(norm)
    prev = "^"
    for word in words:
        out.add("w:" + word)
        out.add(f"b:{prev} {word}")
        prev = word
    for mark in _MARKS.findall(norm):
        out.add("m:" + mark)
    return out
