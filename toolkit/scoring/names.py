"""Which metric names are better when lower (numpy-free, so light modules can import it).

Every other metric (accuracy, roc_auc, r2, f1 …) is better when higher.
"""

#: a set, not a frozenset: a plugin's metric that is better when lower joins it (toolkit.config.plugins)
LOWER_IS_BETTER = {"loss", "mae", "rmse", "mse", "log_loss", "ece"}

#: trainer.validation_metric "combined.loss": the weighted sum of every output's loss
COMBINED = "combined"
