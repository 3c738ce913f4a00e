"""Tables in and out: reading files whole or in chunks, typed raw columns, lists of numbers."""
