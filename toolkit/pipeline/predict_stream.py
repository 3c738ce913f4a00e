"""Prediction over inputs larger than memory: read in chunks, predict, write out as it goes.

Rows come out in the input's order (files in sorted order, chunks in file
order). The output is written to a temporary file beside it and renamed into
place at the end, so an error at any row leaves no partial output (and an
existing file untouched). CSV to stdout is streamed as is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from toolkit.common import log
from toolkit.data import readers
from toolkit.errors import TkError, shift_row
from toolkit.features import columns as prepare

WRITERS = (".csv", ".tsv", ".parquet", ".jsonl")


class ChunkWriter:
    """Appends DataFrames to one CSV / TSV / Parquet / JSON lines file; `commit()` renames it into place."""

    def __init__(self, output: Path | None):
        self.output, self.rows, self.parquet, self.schema = output, 0, None, None
        if output is None:
            self.tmp = None
            return
        self.suffix = output.suffix.lower()
        if self.suffix not in WRITERS:
            raise TkError(f"--output {output}: unknown file type {self.suffix!r}; use one of {', '.join(WRITERS)}")
        if output.is_dir():
            raise TkError(f"--output {output}: is a directory; give a file path")
        output.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")

    def write(self, df) -> None:
        first = self.rows == 0
        self.rows += len(df)
        if self.output is None:
            df.to_csv(sys.stdout, index=False, header=first)
            return
        if self.suffix in (".csv", ".tsv"):
            df.to_csv(
                self.tmp,
                sep="\t" if self.suffix == ".tsv" else ",",
                index=False,
                header=first,
                mode="w" if first else "a",
            )
        elif self.suffix == ".jsonl":
            with open(self.tmp, "w" if first else "a", encoding="utf-8") as f:
                df.to_json(f, orient="records", lines=True, force_ascii=False)
                if len(df):
                    f.write("\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self.parquet is None:
                self.schema = table.schema
                self.parquet = pq.ParquetWriter(self.tmp, self.schema)
            self.parquet.write_table(table.cast(self.schema))

    def commit(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if self.tmp is not None:
            os.replace(self.tmp, self.output)

    def abort(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


def predict_stream(
    model,
    dataset,
    output: Path | None,
    keep: list[str],
    engine: str = "onnx",
    rows: int = readers.CHUNK_ROWS,
    explain: bool = False,
) -> int:
    """Write predictions for every row of `dataset` (a file, glob or directory); returns the row count.
    `explain`: also the attributions, `<output>::why::<input>` (TrainedModel.explain)."""
    wanted = {f.config.source: f.raw_dtype for f in model.inputs} | {c: "keep" for c in keep}
    src = readers.Source(dataset, {c: (t if t != "keep" else None) for c, t in wanted.items()})
    src.check(prepare.wanted_columns(model.config, False) | {c: "--keep" for c in keep})
    writer = ChunkWriter(output)
    try:
        for chunk in src.chunks(rows):
            try:
                preds = model.predict(chunk.frame, source=src.label, engine=engine)
                if explain:
                    preds = preds.join(model.explain(chunk.frame, source=src.label))
            except TkError as e:
                raise TkError(shift_row(str(e), chunk.offset)) from None
            if keep:
                preds = chunk.frame[keep].join(preds)
            writer.write(preds)
        if writer.rows == 0:
            raise TkError(f"{src.label}: no rows")
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    if output is not None:
        log.info(f"wrote {writer.rows} predictions to {output} (streamed in chunks of {rows} rows)")
    return writer.rows
