"""The core's ONNX export: pre graph + model + post graph merged into one file, and its parity check.

Every `tk train` calls these, so they live in the core; `exporters/` keeps
the delivery targets built on top of a model directory (web page, BentoML store).
"""
