"""Extract Jane Austen's six novels from Debian's r-cran-janeaustenr into data/austen_passages.csv.gz (run once).

    apt-get download r-cran-janeaustenr && dpkg-deb -x r-cran-janeaustenr_*.deb /tmp/ja
    pip install rdata pandas
    python -m bench.text_suite.make_austen /tmp/ja/usr/lib/R/site-library/janeaustenr/data

The package keeps its data as R's lazy-load database (Rdata.rdx: an RDS index of offsets;
Rdata.rdb: per object 4 bytes of length, then a zlib-compressed serialized R vector), read with the
PyPI package `rdata`. The lines (one per printed line, "" between paragraphs) become passages:
paragraphs joined in reading order until a passage holds at least PASSAGE_WORDS words; lines in
capitals only (CHAPTER I, VOLUME II, titles) are dropped. The text is public domain, the package
MIT. Reading the shipped CSV needs only pandas.
"""

from __future__ import annotations

import sys
import warnings
import zlib
from pathlib import Path

PASSAGE_WORDS = 150
OUT = Path(__file__).parent / "data" / "austen_passages.csv.gz"


def novels(data_dir: Path) -> dict[str, list[str]]:
    """{novel: its lines} from the lazy-load database in `data_dir`."""
    import rdata

    warnings.filterwarnings("ignore", module="rdata")  # the .rdx has no RDS extension
    index = rdata.conversion.convert(rdata.parser.parse_file(data_dir / "Rdata.rdx"))
    blob = (data_dir / "Rdata.rdb").read_bytes()
    out = {}
    for name, (offset, length) in index["variables"].items():
        raw = zlib.decompress(blob[offset + 4 : offset + length])
        out[str(name)] = [str(line) for line in rdata.conversion.convert(rdata.parser.parse_data(raw))]
    return out


def passages(lines: list[str]) -> list[str]:
    """Paragraphs joined until each passage holds PASSAGE_WORDS words (a short tail is dropped)."""
    paragraphs, current = [], []
    for line in lines + [""]:
        text = line.strip()
        if not text:
            if current:
                paragraphs.append(" ".join(current))
            current = []
        elif not (text.upper() == text and any(c.isalpha() for c in text)):
            current.append(text)
    out, words, buf = [], 0, []
    for p in paragraphs:
        buf.append(p)
        words += len(p.split())
        if words >= PASSAGE_WORDS:
            out.append(" ".join(buf))
            buf, words = [], 0
    return out


def main(argv: list[str]) -> None:
    import pandas as pd

    rows = [(novel, text) for novel, lines in novels(Path(argv[0])).items() for text in passages(lines)]
    df = pd.DataFrame(rows, columns=["novel", "passage"])[["passage", "novel"]]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {OUT}: {len(df)} passages", df["novel"].value_counts().to_dict())


if __name__ == "__main__":
    main(sys.argv[1:])
