"""Shared plumbing with no stage of its own: logging, the ONNX graph builder, onnxruntime options."""
