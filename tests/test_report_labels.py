"""`tk report` draws class values and column names as plain text (issue 27, item 5): matplotlib reads
text between dollar signs as TeX, so a class "$\\foo$" crashed savefig (exit 1, a traceback), 300 nested
braces gave a RecursionError and "$5-$10" was drawn as a formula. Any failure to draw is one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.bad_input_helpers import tk
from toolkit.errors import TkError
from toolkit.report.figures import new_figure, save_png

HOSTILE = ["$\\foo$", "$" + "{" * 300 + "x" + "}" * 300 + "$", "$5-$10", "$\\frac{1}{0}$"]


def test_labels_are_drawn_as_plain_text(tmp_path):
    fig, ax = new_figure()
    ax.bar(range(len(HOSTILE)), [1, 2, 3, 4])
    ax.set_xticks(range(len(HOSTILE)), HOSTILE)
    ax.set_title(HOSTILE[0])
    ax.legend(["$5-$10"])
    save_png(fig, tmp_path / "plain.png")
    assert (tmp_path / "plain.png").stat().st_size > 1000
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert shown == HOSTILE and not any(t.get_parse_math() for t in ax.get_xticklabels())


def test_a_figure_that_cannot_be_drawn_is_one_line(tmp_path):
    fig, ax = new_figure()
    fig.set_size_inches(1e6, 1e6)  # Agg refuses an image this large
    with pytest.raises(TkError, match=r"^big\.png: matplotlib could not draw it \(ValueError: ") as e:
        save_png(fig, tmp_path / "big.png")
    assert "\n" not in str(e.value) and not list(tmp_path.iterdir())


def test_report_on_dollar_classes_and_columns(tmp_path):
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    rng = np.random.default_rng(0)
    x = rng.normal(size=90)
    df = pd.DataFrame({"$5-$10": x, "y": np.where(x > 0.3, HOSTILE[0], np.where(x < -0.3, HOSTILE[1], HOSTILE[2]))})
    df.to_csv(tmp_path / "d.csv", index=False)
    train(
        {
            "input_features": [{"name": "$5-$10", "type": "number"}],
            "output_features": [{"name": "y", "type": "category"}],
            "trainer": {"epochs": 1},
        },
        df,
        output=tmp_path / "m",
    )
    run = tk("report", tmp_path / "m", "-d", tmp_path / "d.csv", "-o", tmp_path / "r")
    assert run.code == 0, run.stderr
    assert (tmp_path / "r" / "y_confusion.png").is_file() and (tmp_path / "r" / "report.html").is_file()
