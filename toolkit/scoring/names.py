"""Which metric names are better when lower (numpy-free, so light modules can import it).

Every other metric (accuracy, roc_auc, r2, f1 …) is better when higher.
"""

LOWER_IS_BETTER = frozenset({"loss", "mae", "rmse", "mse", "log_loss", "ece"})

#: trainer.validation_metric "combined.loss": the weighted sum of every output's loss
COMBINED = "combined"
