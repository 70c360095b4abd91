"""Score the classifier on our own dev sets: negative P/R and reasons.

    .venv/bin/python -m bench.classify_dev aftersales/reviews/data/dev/dev2_zh.tsv ...

Reasons are scored as the lead scores them: exact set match over the rows
labelled negative or neutral, and per reason found/labelled, predicted.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from aftersales.reviews.classify import classify_text
from aftersales.reviews.train import read_labeled


def main(paths: list[str], verbose: bool = False) -> None:
    rows = [r for p in paths for r in read_labeled(Path(p))]
    tp = fp = fn = 0
    exact = total = 0
    found: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    misses = []
    for text, label, codes in rows:
        result = classify_text(text)
        gold = label != "positive"
        tp += gold and result.negative
        fp += (not gold) and result.negative
        fn += gold and not result.negative
        if gold:
            want = set(codes) or {"unclassified"}
            got = {r.reason.value for r in result.reasons} or {"unclassified"}
            total += 1
            exact += want == got
            for w in want:
                labelled[w] += 1
                found[w] += w in got
            for g in got:
                predicted[g] += 1
            if want != got:
                misses.append((text, sorted(want), sorted(got)))
        elif result.negative:
            misses.append((text, ["POSITIVE"], [result.sentiment.value]))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    print(f"rows {len(rows)}  negative P {p:.3f} ({tp}/{tp + fp})  R {r:.3f} ({tp}/{tp + fn})")
    print(f"reasons exact {exact}/{total} = {exact / max(1, total):.3f}")
    for code in sorted(labelled | predicted):
        print(f"  {code:18} {found[code]}/{labelled[code]}, {predicted[code]}")
    if verbose:
        for text, want, got in misses:
            print(f"  MISS {want} -> {got}: {text}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "-v"]
    main(args, verbose="-v" in sys.argv)
