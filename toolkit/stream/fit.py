"""Fit every feature in one streaming pass over the training rows (a second one for text idf).

Per feature type, what a pass keeps (bounded memory):
  number    count, mean and M2 merged chunk by chunk (Chan et al.), min, max,
            and a uniform reservoir of RESERVOIR_SIZE values (Algorithm R).
            Under the cap the reservoir holds every value and the feature is
            fitted on it: the state equals the in-memory fit. Above it, mean,
            std, min and max stay exact; quantile bin edges and a median fill
            come from the reservoir sample.
  category, binary, set (inputs and outputs)
            {raw value: rows}, fitted by the feature's `fit_counts` (the same
            code as `fit`). Exact while a column has at most MAX_DISTINCT
            distinct values; beyond that the least frequent half is dropped
            (counts then undercount rare values; a warning says so).
  text      token and bigram counts from the feature's own ONNX tokenizer,
            chunk by chunk (capped like the above); a second pass counts the
            documents of the kept tokens for idf.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from toolkit import log, prepare
from toolkit.errors import TkError
from toolkit.stream.dataset import read_part

#: Values kept per number column for quantiles (exact below it).
RESERVOIR_SIZE = 262_144
#: Distinct raw values (or tokens) counted per column before the rarest half is dropped.
MAX_DISTINCT = 1_000_000


def _prune(counts: Counter, where: str, warned: set) -> Counter:
    if len(counts) <= MAX_DISTINCT:
        return counts
    if where not in warned:
        log.warn(f"{where}: more than {MAX_DISTINCT} distinct values; counting only the most frequent "
                 "(rare values may be undercounted)")
        warned.add(where)
    return Counter(dict(counts.most_common(MAX_DISTINCT // 2)))


class ValueCounts:
    """{raw value: rows} of a string column."""

    def __init__(self, where: str):
        self.where, self.counts, self.warned = where, Counter(), set()

    def add(self, values: np.ndarray) -> None:
        self.counts.update(values.tolist())
        self.counts = _prune(self.counts, self.where, self.warned)

    def present(self) -> int:
        return sum(c for v, c in self.counts.items() if v != "")

    def finish(self, feature) -> None:
        feature.fit_counts(self.counts)


class NumberStats:
    """Running count / mean / M2 / min / max and a reservoir of a float column."""

    def __init__(self, where: str, seed: int = 0):
        self.where = where
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.lo, self.hi = np.inf, -np.inf
        self.reservoir = np.empty(0, dtype=np.float64)
        self.rng = np.random.default_rng(seed)

    def add(self, values: np.ndarray) -> None:
        x = np.asarray(values, dtype=np.float64)
        x = x[np.isfinite(x)]
        m = len(x)
        if m == 0:
            return
        mean_b, m2_b = float(x.mean()), float(((x - x.mean()) ** 2).sum())
        n = self.n + m
        delta = mean_b - self.mean
        self.mean += delta * m / n
        self.m2 += m2_b + delta * delta * self.n * m / n
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
        room = RESERVOIR_SIZE - len(self.reservoir)
        if room > 0:
            self.reservoir = np.concatenate([self.reservoir, x[:room]])
        rest = x[max(room, 0):]
        if len(rest):  # Algorithm R: value i (0-based, global) replaces slot r ~ U[0, i] when r < size
            seen = np.arange(self.n + max(room, 0), self.n + m, dtype=np.int64)
            slots = self.rng.integers(0, seen + 1)
            hit = slots < RESERVOIR_SIZE
            self.reservoir[slots[hit]] = rest[hit]
        self.n = n

    def present(self) -> int:
        return self.n

    def finish(self, feature) -> None:
        feature.fit(self.reservoir)  # exact when every value fits in the reservoir
        if self.n <= RESERVOIR_SIZE:
            return
        std = float(np.sqrt(self.m2 / self.n))
        if hasattr(feature, "edges_"):  # an input: exact moments and range, edges from the sample
            p = feature.config.preprocessing
            feature.min_, feature.max_ = self.lo, self.hi
            if p.missing_value_strategy == "mean":
                feature.fill_ = self.mean
            if p.normalization == "zscore":
                feature.shift_, feature.scale_ = self.mean, std if std > 0 else 1.0
            elif p.normalization == "minmax":
                feature.shift_, feature.scale_ = self.lo, (self.hi - self.lo) or 1.0
        else:
            feature.mean_, feature.std_ = self.mean, std or 1.0


class TextCounts:
    """Token (and bigram) counts over the ONNX tokenizer's output; document frequencies in pass 2."""

    def __init__(self, where: str, feature):
        from toolkit.features.text_tokens import cut_pieces

        p = feature.config.preprocessing
        self.where, self.warned = where, set()
        self.args = (feature.pattern, p.lowercase, cut_pieces(p.max_length))
        self.ngrams = p.ngrams
        self.counts, self.bigrams = Counter(), Counter()
        self.docs, self.unknown, self.rows, self.nonempty = Counter(), 0, 0, 0

    def add(self, values: np.ndarray) -> None:
        from toolkit.features.text_tokens import count_tokens

        c, b = count_tokens(values, *self.args, self.ngrams)
        self.counts.update(c)
        self.bigrams.update(b)
        self.counts = _prune(self.counts, self.where, self.warned)
        self.bigrams = _prune(self.bigrams, self.where + " bigrams", self.warned)
        self.rows += len(values)
        self.nonempty += int((values != "").sum())

    def present(self) -> int:
        return self.nonempty

    def choose(self, feature) -> None:
        from toolkit.features.text_tokens import rank

        p = feature.config.preprocessing
        feature.vocab_ = rank(self.counts, p.min_count, p.max_size)
        feature.bigrams_ = rank(self.bigrams, p.min_count, p.max_size) if p.ngrams == 2 else []
        self.kept = (set(feature.vocab_), set(feature.bigrams_))

    def add_documents(self, values: np.ndarray) -> None:
        from toolkit.features.text_tokens import document_frequencies

        docs, unknown = document_frequencies(values, *self.args, self.ngrams, *self.kept)
        self.docs.update(docs)
        self.unknown += unknown

    def finish(self, feature) -> None:
        from toolkit.features.text_tokens import smooth_idf

        n = self.rows
        feature.idf_ = ([0.0, smooth_idf(self.unknown, n)]
                        + [smooth_idf(self.docs[t], n) for t in feature.vocab_ + feature.bigrams_])


def _accumulator(feature, kind: str, index: int):
    where = f"column {feature.config.source!r} ({kind} feature {feature.config.name!r})"
    if feature.type == "number":
        return NumberStats(where, seed=index)
    if feature.type == "text":
        return TextCounts(where, feature)
    return ValueCounts(where)


def fit_features(cfg, source, inputs, outputs, rows: int = 65_536, label: str = "data") -> dict:
    """Fit `inputs` and `outputs` in place from the training rows of `source`; returns the data summary.

    The summary has the keys of prepare.prepare_training's (rows, dropped rows,
    rows per split, missing values per column).
    """
    acc_in = [_accumulator(f, "input", i) for i, f in enumerate(inputs)]
    acc_out = [_accumulator(f, "output", i) for i, f in enumerate(outputs)]
    rows_total, dropped = 0, 0
    per_split = np.zeros(3, dtype=np.int64)
    missing: Counter = Counter()
    for chunk in source.chunks(rows):
        part = read_part(cfg, inputs, outputs, chunk, label)
        rows_total += len(chunk.frame)
        dropped += part.dropped
        per_split += np.bincount(part.split, minlength=3)[:3]
        for c, v in part.columns.items():
            missing[c] += int(prepare.missing_mask(v).sum())
        train = part.split == 0
        for f, acc in zip(inputs, acc_in):
            acc.add(part.columns[f.config.source][train])
        for f, acc in zip(outputs, acc_out):
            acc.add(part.raw_targets[f.config.name][train])
    if rows_total == 0:
        raise TkError(f"{label}: no rows")
    if dropped:
        log.warn(f"{label}: dropped {dropped} row(s) with a missing target")
    if per_split[0] == 0:
        raise TkError(f"{label}: the split leaves no training rows")
    for f, acc in zip(outputs, acc_out):
        if acc.present() == 0 and f.type != "set":
            raise TkError(f"{label}: column {f.config.source!r} (output feature {f.config.name!r}): "
                          "every target value is missing")
        acc.finish(f)
    for f, acc in zip(inputs, acc_in):
        if acc.present() == 0:
            raise TkError(f"{label}: column {f.config.source!r} (input feature {f.config.name!r}): "
                          "every value is missing in the training rows; remove the feature")
    texts = [(f, acc) for f, acc in zip(inputs, acc_in) if isinstance(acc, TextCounts)]
    for f, acc in texts:
        acc.choose(f)
    if texts:  # pass 2: document frequencies of the kept tokens
        for chunk in source.chunks(rows):
            part = read_part(cfg, inputs, outputs, chunk, label)
            train = part.split == 0
            for f, acc in texts:
                acc.add_documents(part.columns[f.config.source][train])
    for f, acc in zip(inputs, acc_in):
        acc.finish(f)
    return {
        "source": label,
        "rows": int(rows_total),
        "dropped_missing_target": int(dropped),
        "rows_per_split": {name: int(per_split[k]) for k, name in enumerate(prepare.SPLITS)},
        "missing_per_column": dict(missing),
        "streamed": True,
    }
