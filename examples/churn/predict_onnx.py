"""Predict with the exported ONNX file alone: onnxruntime + numpy (+ csv for reading).

python examples/churn/predict_onnx.py runs/churn.onnx examples/churn/sample.csv
"""

import csv
import sys

from toolkit.runtime.predictor import Predictor


def main(model_path: str, csv_path: str) -> None:
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))  # every value a string: the Predictor coerces numbers
    predictor = Predictor(model_path, threads=1)
    churn_meta = next(o for o in predictor.metadata["tk.features"]["outputs"] if o["name"] == "churn")
    print(
        f"churn is Yes when p(Yes) >= {churn_meta.get('threshold', 0.5):.3f} (the cut-off chosen on the validation rows)"
    )
    for row, pred in zip(rows, predictor.predict(rows)):
        churn = pred["churn"]
        print(
            f"tenure {row['tenure']:>3}  {row['contract']:<15} → churn {churn['label']:<3} "
            f"(p(Yes) = {churn['probabilities']['Yes']:.3f})"
        )
    assert "torch" not in sys.modules


if __name__ == "__main__":
    main(*sys.argv[1:3])
