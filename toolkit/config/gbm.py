"""The `gbm:` config section: LightGBM's main parameters under tk's names.

Defaults are LightGBM's own (num_leaves 31, min_data_in_leaf 20, no sampling, no
L2, cat_l2 and cat_smooth 10) except two.

- The rounds and their size: LightGBM grows 100 trees at learning_rate 0.1; tk
  grows up to `num_trees` at 0.05 and stops when the validation metric has not
  improved for `early_stop` (100) rounds, keeping the best round. On the 16 sets
  of bench/gbm, 5 splits each (bench/results/gbm_defaults.md), 0.05 / 100 was
  within 0.001 of the best config on 14 sets, 0.1 / 50 on 8, at 3x the train
  time (0.6 s a set on average, one thread).
- A category with at most 16 levels splits one level against the rest
  (`max_cat_to_onehot` 16, LightGBM's 4). LightGBM's grouped category splits,
  penalised by cat_l2 and cat_smooth for the sake of many-level columns, cost
  leaf_id_flavia (32 classes, 1,900 rows) 2.3 points of accuracy against
  HistGradientBoosting; one-vs-rest splits kept 12 of the 16 sets within 0.001
  of the best config (as before), lowered the mean log loss 0.269 -> 0.259, and
  took the defaults suite's ensemble from 12 to 13 of 13 sets within 0.005 of
  the best baseline (bench/results/gbm_categorical.md, suite_final.md).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from toolkit.features.base import StrictModel


class Bagging(StrictModel):
    """Row subsampling: every `freq` rounds, draw `fraction` of the training rows."""

    fraction: float = Field(1.0, gt=0, le=1, description="Share of rows each tree sees (1 = all: no bagging).")
    freq: int = Field(0, ge=0, description="Redraw the rows every `freq` trees; 0 turns bagging off.")

    @model_validator(mode="after")
    def _both_or_neither(self) -> "Bagging":
        if self.fraction < 1 and self.freq == 0:
            raise ValueError(
                f"bagging.fraction={self.fraction} needs bagging.freq > 0 (e.g. 1); "
                "with freq 0 LightGBM ignores the fraction"
            )
        return self


class GbmConfig(StrictModel):
    """LightGBM parameters; names in brackets are LightGBM's."""

    num_trees: int = Field(
        1000, ge=1, le=100_000, description="Most boosting rounds [num_iterations]; early stopping usually ends sooner."
    )
    learning_rate: float = Field(0.05, gt=0, le=1, description="Shrinkage of each tree [learning_rate].")
    num_leaves: int = Field(31, ge=2, le=131_072, description="Leaves per tree [num_leaves].")
    min_data_in_leaf: int = Field(20, ge=1, description="Fewest training rows in a leaf [min_data_in_leaf].")
    feature_fraction: float = Field(
        1.0, gt=0, le=1, description="Share of matrix columns each tree may split on [feature_fraction]."
    )
    bagging: Bagging = Bagging()
    lambda_l2: float = Field(0.0, ge=0, description="L2 penalty on leaf values [lambda_l2].")
    cat_l2: float = Field(10.0, ge=0, description="L2 penalty in a category split's gain [cat_l2].")
    cat_smooth: float = Field(
        10.0,
        ge=0,
        description="Smoothing of each category's gradient ratio when categories are ordered for a split [cat_smooth].",
    )
    max_cat_to_onehot: int = Field(
        16,
        ge=1,
        description="A category input with at most this many levels splits "
        "one level against the rest [max_cat_to_onehot]; "
        "LightGBM's default is 4.",
    )
    early_stop: int = Field(
        100, ge=0, description="Stop after this many rounds without a better validation metric; 0 trains all num_trees."
    )
    seed: int = Field(42, ge=0, description="Seed of LightGBM's sampling (bagging, feature_fraction).")
    threads: int = Field(0, ge=0, description="LightGBM threads; 0 = OpenMP's default (all cores).")

    def lightgbm_params(self) -> dict:
        """The LightGBM parameter dict (objective and metric excluded)."""
        return {
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging.fraction,
            "bagging_freq": self.bagging.freq,
            "lambda_l2": self.lambda_l2,
            "cat_l2": self.cat_l2,
            "cat_smooth": self.cat_smooth,
            "max_cat_to_onehot": self.max_cat_to_onehot,
            "seed": self.seed,
            "num_threads": self.threads,
            "deterministic": True,
            "force_col_wise": True,
            "zero_as_missing": False,
            "verbosity": -1,
        }
