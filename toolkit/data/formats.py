"""What files tk reads and which cell texts mean missing (stdlib only: init-config stays light).

file_kind(Path("data.tsv"))  -> "tsv"      # TkError naming the path for an unknown suffix
NULL_VALUES                                # pandas' default missing markers
"""

from __future__ import annotations

from pathlib import Path

from toolkit.errors import TkError

#: File suffix → how it is read (toolkit.data.tables whole, toolkit.data.readers in chunks,
#: toolkit.data.sample for init-config's first rows).
FILE_KINDS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}

#: pandas' default missing markers (pyarrow's defaults plus "None" and "<NA>"): the chunked reader
#: passes them to pyarrow, init-config counts them as missing.
NULL_VALUES = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]


def file_kind(path: Path) -> str:
    """ "csv" | "tsv" | "parquet" | "jsonl" by the path's suffix; TkError for any other."""
    kind = FILE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise TkError(f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(sorted(FILE_KINDS))}")
    return kind
