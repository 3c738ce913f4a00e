"""Where tk runs are recorded beyond the model directory: MLflow (toolkit.tracking.mlflow).

Each tracker is an optional extra, imported only when asked for (`tk train --mlflow`).
"""
