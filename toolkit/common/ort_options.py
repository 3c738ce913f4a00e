"""onnxruntime session options, one way for the preprocessing graph and the Predictor (numpy-free, torch-free)."""

from __future__ import annotations


def session_options(threads: int | None = None, spinning: bool = True):
    """ort.SessionOptions: `threads` intra-op threads (one inter-op) when given, warnings silenced;
    `spinning=False` lets idle threads sleep between calls (for a graph run in bursts beside torch)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if not spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so
