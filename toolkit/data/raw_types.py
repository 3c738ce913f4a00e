"""ONNX element types of raw inputs: what one column arrives as (stdlib only, so config reading stays light)."""

RAW_FLOAT = "float32"
RAW_STRING = "string"
