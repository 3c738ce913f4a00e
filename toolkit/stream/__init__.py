"""Data larger than memory and more than one process.

    readers.py   CSV / Parquet / JSON lines in chunks (one file, a glob or a directory)
    fit.py       one streaming pass that fits every feature (a second one for text idf)
    dataset.py   training chunks → preprocessed tensors → seeded shuffle buffer → batches
    loop.py      the training loop over a stream, DDP-aware
    ddp.py       launching workers with torch's elastic launcher; rank helpers
    train.py     api.train's streaming path: fit, train, evaluate, save (rank 0)
    predict.py   chunked prediction, written out as it goes, atomically
"""
