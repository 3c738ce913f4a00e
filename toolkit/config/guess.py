"""Guess a config from a data file: what `tk init-config data.csv --target y` prints.

Stdlib only (csv, json; pyarrow lazily for Parquet), so the command answers in
a fraction of a second: no numpy, pandas or torch. Values are read as strings
(CSV) or turned into strings the way `toolkit.data.coerce` does (JSON lines,
Parquet); at most the first sample_read.MAX_ROWS rows are looked at.

Missing: empty or whitespace-only, or one of pandas' default NA words (NA,
N/A, null, NaN, None, …), since training reads the file with pandas.

Input columns, in this order (first rule that applies):
  - `split` (any case) holding only 0/1/2 or train/validation/test words, with
    no blanks: the fixed split, not a feature.
  - all missing → skipped; one distinct value (case-insensitive) → skipped.
  - exactly 2 distinct values, case-insensitive (0/1, yes/no, any two
    strings) → binary.
  - numeric: at least 95 % of the present values parse as numbers and none is
    a zero-padded code like "007" or "02134" (those are strings):
      all distinct integers (≥ 20 rows) → skipped as an id;
      otherwise → number, also for integers with few values (a count or a
      1–5 rating keeps its order; edit to category for codes like 1/2/3 that
      mean unordered things). Values that are not numbers are noted: training
      reads them as missing.
    A numeric column named like a time (time, timestamp, epoch, ts, …_at) whose
      values are all whole seconds between 2000 and 2039 → date, format epoch.
  - strings:
      dates → date, with the format that reads ≥ 95 % of the present values
        with Python's datetime.strptime: ISO 8601 (2024-01-31, optionally with
        "T" or a space and a time, and "Z" or "+00:00"; the default, not written), else one of
        DATE_FORMATS (day/month/year orders with "/", "." or "-") with an
        optional " %H:%M" or " %H:%M:%S" (written as `preprocessing.format`;
        when day and month both read, day first wins and a note says so);
        ISO dates with a time zone other than UTC → skipped;
      lists of numbers (≥ 95 % of the values; numbers between spaces, or
        between "," ";" "|" with at least 3 numbers in some row; "1,234" style
        thousands are not lists) → vector when every row has the same length,
        else timeseries (preprocessing.max_length: the longest);
      a delimiter-separated vocabulary → set, with that delimiter: "," ";" or
        "|" in ≥ 10 % of the values, and the members (pieces between
        delimiters, stripped of spaces) are fewer than the distinct values
        (they recombine), at most 1000, mostly not numbers ("1,234"), and
        short (≤ 3 words on average);
      all distinct (≥ 20 rows) → text when values average ≥ 2.5 words,
        else skipped as an id;
      ≤ 1000 distinct values and ≤ 50 % of the rows (or ≤ 20) → category;
      more distinct values → text when values average ≥ 2.5 words, else
        skipped as too many values.
Targets: 2 distinct values → binary; numeric with > 10 distinct values →
number; a delimiter-separated vocabulary as above → set; anything else →
category. The split is the fixed column above, else stratified on the first
target when it is binary or category, else random.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from toolkit.config.guess_shapes import NUMERIC_SHARE, date_format, is_epoch, number_list
from toolkit.config.guess_text import close_hint, dataset_path, feature_lines, names_list, oneline, scalar, short
from toolkit.data.formats import NULL_VALUES
from toolkit.data.sample import read_columns
from toolkit.errors import TkError

# The same as toolkit.data.tables.SPLIT_NAMES (importing toolkit.data.tables would load numpy and
# pydantic; tests/test_init_config.py checks that they agree).
NA_STRINGS = frozenset(NULL_VALUES)  # cell texts that mean missing, as pandas reads them
SPLIT_NAMES = frozenset({"0", "1", "2", "train", "training", "validation", "valid", "val", "test"})

ID_MIN_ROWS = 20  # fewer rows than this: all-distinct proves nothing
MAX_CATEGORIES = 1000
MAX_CATEGORY_SHARE = 0.5  # distinct values / present rows
SMALL_CATEGORY = 20  # always fine as a category
TEXT_WORDS = 2.5  # mean words per value that make a column free text (film titles: 2.9)
TARGET_NUMBER_MIN = 11  # a numeric target with fewer distinct values is a category
SET_DELIMITERS = (",", ";", "|")
SET_MIN_SHARE = 0.1  # present values holding the delimiter
SET_MAX_MEMBER_WORDS = 3.0  # mean words per member
SET_SPACES = "\t\n\f\r "  # stripped around members (toolkit.features.set.SPACES)
# dates and lists of numbers: toolkit.config.guess_shapes

_CODE = re.compile(r"\s*[+-]?0\d")  # zero-padded: "007", "02134"
_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")


@dataclass
class Column:
    """What the rules need to know about one column."""

    name: str
    missing: int
    counts: Counter  # present value → rows
    present: int = field(init=False)  # rows with a value
    numbers: dict[str, float] = field(init=False)  # value → float, for values that parse
    number_rows: int = field(init=False)  # rows whose value parses

    def __post_init__(self):
        self.present = sum(self.counts.values())
        self.numbers, self.number_rows = {}, 0
        for value, n in self.counts.items():
            if _CODE.match(value):
                self.numbers, self.number_rows = {}, 0
                break
            try:
                self.numbers[value] = float(value)
            except ValueError:
                continue
            self.number_rows += n

    @property
    def distinct(self) -> int:
        return len(self.counts)

    @cached_property
    def distinct_folded(self) -> int:
        """Distinct values ignoring case (binary features lowercase)."""
        return len({v.lower() for v in self.counts})

    @property
    def numeric(self) -> bool:
        return self.present > 0 and self.number_rows >= NUMERIC_SHARE * self.present

    def junk(self) -> list[str]:
        """Present values that are not numbers, most frequent first."""
        return [v for v, _ in self.counts.most_common() if v not in self.numbers]

    def mean_words(self) -> float:
        return sum(len(v.split()) * n for v, n in self.counts.items()) / max(self.present, 1)

    def all_distinct(self) -> bool:
        return self.distinct == self.present >= ID_MIN_ROWS


def config_yaml(dataset: Path, targets: list[str], relative_to: Path | None = None) -> str:
    """Read `dataset` and return a YAML config with a guessed type for every column.

    `dataset:` in the YAML is the path as given, or relative to the directory
    `relative_to` (where the config will be written) when that is known.
    """
    dataset = Path(dataset)
    names, values, truncated = read_columns(dataset)
    columns = {n: _column(n, v) for n, v in zip(names, values)}
    rows = len(values[0]) if values else 0

    targets = list(dict.fromkeys(targets))
    if not targets:
        raise TkError("name at least one column to predict with --target")
    for t in targets:
        if t not in columns:
            raise TkError(
                f"{dataset}: no such column: --target {t!r}{close_hint(t, names)}; the data has: {names_list(names)}"
            )
    outputs = [(t, *_target_type(dataset, columns[t])) for t in targets]

    split_col = next((c for n, c in columns.items() if n.lower() == "split" and n not in targets), None)
    notes = []
    if split_col is not None and not _is_split(split_col):
        bad = [v for v in split_col.counts if not _split_value(v)][:3]
        why = f"{split_col.missing} blank value(s)" if not bad else "values like " + ", ".join(map(repr, bad))
        notes.append(
            f"# note: column {scalar(split_col.name)} is not used as the split: {why}; "
            "a fixed split takes 0/1/2 or train/validation/test"
        )
        split_col = None
    if split_col is not None:
        split = f"{{type: fixed, column: {scalar(split_col.name)}}}"
    elif outputs[0][1] == "number" or outputs[0][1].startswith("set"):
        split = "{type: random}"
    else:
        split = "{type: stratified}"

    inputs, skipped = [], []
    for name, col in columns.items():
        if name in targets or (split_col is not None and name == split_col.name):
            continue
        kind, why = _input_type(col)
        if kind:
            inputs.append((name, kind, why))
        else:
            skipped.append(f"# skipped: {scalar(name)} — {why}")
    if not inputs:
        reasons = "; ".join(s.removeprefix("# skipped: ") for s in skipped) or "no other columns"
        raise TkError(f"{dataset}: no column can be an input feature: {reasons}")

    sample = f"the first {rows} rows" if truncated else f"{rows} rows"
    lines = [
        f"# Written by `tk init-config` from {oneline(dataset.name)} ({sample}, {len(names)} columns).",
        "# The types are guesses from the values: check them, then `tk train` this file.",
        "# `dataset` is read relative to the directory of this file.",
        f"dataset: {scalar(dataset_path(dataset, relative_to))}",
        "input_features:",
        *feature_lines(inputs),
        *skipped,
        *notes,
        "output_features:",
        *feature_lines(outputs),
        "preprocessing:",
        f"  split: {split}",
        *MODEL_LINES,
    ]
    return "\n".join(lines) + "\n"


#: The model init-config chooses, and why (bench/results/suite.md holds the measurements).
MODEL_LINES = [
    "# The model: a neural network and LightGBM trees trained on the same split, their outputs averaged",
    "# inside model.onnx. On the 13 data sets of tk's defaults suite it scored better than either alone",
    "# and than scikit-learn's default gradient-boosted trees (python -m bench.suite). Other choices:",
    "# nn (the network alone), gbm (the trees alone), auto (whichever is better on the validation rows).",
    "model_type: ensemble",
]


def guess_inputs(frame) -> tuple[list[dict], list[str]]:
    """Input features for every column of a DataFrame, typed by the rules `tk init-config` applies to a
    file (its first sample_read.MAX_ROWS rows, values as training reads them); and, for each column
    left out, "name: why". toolkit.sklearn calls it."""
    import yaml

    from toolkit.data.sample import MAX_ROWS, _as_string

    head = frame.iloc[:MAX_ROWS]
    items, skipped = [], []
    for name in head.columns:
        kind, why = _input_type(_column(str(name), [_as_string(v) for v in head[name].tolist()]))
        if kind:
            items.append((str(name), kind, ""))
        else:
            skipped.append(f"{name}: {why}")
    return [yaml.safe_load(line.strip()[2:]) for line in feature_lines(items)], skipped


# ---- rules -----------------------------------------------------------------


def _input_type(col: Column) -> tuple[str | None, str]:
    """(type, note) for a usable column, or (None, why it is skipped)."""
    if col.present == 0:
        return None, "every value is missing"
    if col.distinct_folded == 1:
        value = next(iter(col.counts))
        return None, f"constant: every value is {short(value)}" + (" or missing" if col.missing else "")
    if col.distinct_folded == 2:
        return "binary", ""
    if col.numeric:
        if is_epoch(col):
            return "date, preprocessing: {format: epoch}", "whole seconds since 1970 in 2000-2039"
        if col.all_distinct() and all(x.is_integer() for x in col.numbers.values()):
            return None, "looks like an id (all values distinct)"
        note = (
            (
                f"{col.present - col.number_rows} value(s) are not numbers "
                f"({', '.join(map(short, col.junk()[:3]))}): read as missing"
            )
            if col.number_rows < col.present
            else ""
        )
        return "number", note
    found = date_format(col)
    if found is not None:
        return found
    listed = number_list(col)
    if listed is not None:
        return listed
    delimiter = _set_delimiter(col)
    if delimiter is not None:
        return _set_type(delimiter), _set_note(col, delimiter)
    text = col.mean_words() >= TEXT_WORDS
    if col.all_distinct():
        return (TEXT_KIND, _text_note(col)) if text else (None, "looks like an id (all values distinct)")
    if col.distinct <= MAX_CATEGORIES and (
        col.distinct <= MAX_CATEGORY_SHARE * col.present or col.distinct <= SMALL_CATEGORY
    ):
        return "category", ""
    if text:
        return TEXT_KIND, _text_note(col)
    return None, f"too many distinct values for a category ({col.distinct} in {col.present} rows)"


def _set_members(col: Column, delimiter: str) -> Counter:
    """Member → rows holding it (a member repeated in one value counts once)."""
    members: Counter = Counter()
    for value, n in col.counts.items():
        for m in {p.strip(SET_SPACES) for p in value.split(delimiter)} - {""}:
            members[m] += n
    return members


def _set_delimiter(col: Column) -> str | None:
    """The delimiter of a set column (see the module docstring), or None."""
    for d in SET_DELIMITERS:
        if sum(n for v, n in col.counts.items() if d in v) < SET_MIN_SHARE * col.present:
            continue
        members = _set_members(col, d)
        if not members or len(members) >= col.distinct or len(members) > MAX_CATEGORIES:
            continue
        rows = sum(members.values())
        if sum(n for m, n in members.items() if _NUMBER.fullmatch(m)) > 0.5 * rows:
            continue  # "1,234" or "3,5": numbers, not sets
        if sum(len(m.split()) * n for m, n in members.items()) > SET_MAX_MEMBER_WORDS * rows:
            continue
        return d
    return None


def _set_type(delimiter: str) -> str:
    """The type, plus the delimiter when it is not the default ","."""
    return "set" if delimiter == "," else f"set, preprocessing: {{delimiter: {json.dumps(delimiter)}}}"


def _set_note(col: Column, delimiter: str) -> str:
    members = _set_members(col, delimiter)
    top = ", ".join(short(m, 15) for m, _ in members.most_common(3))
    return f"{len(members)} members split at {delimiter!r}, e.g. {top}"


#: Chosen on all 9 sets of bench.text_suite (never on one), 5 splits each: words, punctuation marks and
#: word bigrams in the idf-weighted embedding bag (fastText's recipe, Joulin et al. 2017), the embeddings
#: learning 30× faster than the rest of the network so that small sets train to the end and large ones
#: stop early; beside the network, model_type ensemble now fits a TF-IDF + logistic regression member on
#: the same ids (toolkit.models.text_linear), and every word seen in training gets an id (min_count 1:
#: the vocabulary comes from the train rows alone, so on small many-class sets the words seen once
#: there are much of what the test rows share with them). Mean accuracy / ROC AUC 0.746 (this line
#: without min_count, network alone) → 0.767 (with the text member) → 0.774 (and min_count 1); TF-IDF +
#: LogisticRegression 0.761, within 0.005 of it or above on 9 of 9 sets (bench/results/text_suite_linear.md).
#: The schema keeps its defaults: old model directories load unchanged.
TEXT_KIND = "text, preprocessing: {ngrams: 2, min_count: 1}, encoder: {embedding_lr: 30}"


def _text_note(col: Column) -> str:
    words = sorted((len(v.split()), n) for v, n in col.counts.items())
    seen, p95 = 0, 0
    for w, n in words:
        seen += n
        if seen >= 0.95 * col.present:
            p95 = w
            break
    return (
        f"{col.mean_words():.0f} words on average, 95 % ≤ {p95} (preprocessing.max_length counts tokens); "
        "words, marks and bigrams (bench.text_suite)"
    )


def _target_type(dataset: Path, col: Column) -> tuple[str, str | None]:
    """(type, note) of an output column."""
    if col.present == 0:
        raise TkError(f"{dataset}: --target {col.name!r}: every value is missing")
    if col.distinct_folded == 1:
        raise TkError(
            f"{dataset}: --target {col.name!r}: every value is {short(next(iter(col.counts)))}; nothing to predict"
        )
    if col.distinct_folded == 2:
        return "binary", None
    if col.numeric and len(col.numbers) >= TARGET_NUMBER_MIN:
        return "number", None
    if not col.numeric:
        delimiter = _set_delimiter(col)
        if delimiter is not None:
            return _set_type(delimiter), _set_note(col, delimiter)
    return "category", None


def _split_value(value: str) -> bool:
    return value.lower() in SPLIT_NAMES or re.fullmatch(r"[012]\.0*", value) is not None


def _is_split(col: Column) -> bool:
    return col.present > 0 and col.missing == 0 and all(_split_value(v) for v in col.counts)


def _column(name: str, values: list[str | None]) -> Column:
    counts = Counter(values)
    missing = 0
    for value in list(counts):
        if value is None or value in NA_STRINGS or value.isspace():
            missing += counts.pop(value)
    return Column(name, missing, counts)
