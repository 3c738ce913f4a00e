"""What training runs on: devices and processes, splits as batches, the feature fit, the loop and its bookkeeping."""
