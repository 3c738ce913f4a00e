"""Running an exported model: the model directory on disk and the Predictor (onnxruntime + numpy, no torch)."""
