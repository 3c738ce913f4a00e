"""The peers benchmark's outputs: peers.json (machine, versions, every row, the targets), peers.md and the charts.

    write(results, Path("bench/results"))   # peers.json, peers.md, peers_accuracy_vs_train_time.png, peers_latency.png

The parts, one job each: measures.py (what a row measured), targets.py (the issue's targets as ratios),
markdown.py (peers.md), charts.py (the PNGs), readme_section.py (docs/peers.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import PACKAGES, ROOT
from bench.common import machine as common_machine
from bench.peers.charts import charts
from bench.peers.markdown import markdown
from bench.peers.targets import targets


def machine() -> dict[str, Any]:
    """bench.common.machine, with the versions of Ludwig (in bench/.venv-ludwig), skl2onnx and BentoML."""
    info = common_machine((*PACKAGES, "skl2onnx", "bentoml"))
    ludwig = ROOT / "bench" / ".venv-ludwig" / "LUDWIG_VERSION"
    info["versions"]["ludwig"] = ludwig.read_text().strip() if ludwig.exists() else None
    return info


def write(res: dict, out: Path) -> None:
    """Write <out>/peers.json (res with its "targets" added) and peers.md atomically, then the charts."""
    out.mkdir(parents=True, exist_ok=True)
    res["targets"] = [t for name, ds in res["datasets"].items() if ds.get("systems") for t in targets(name, ds)]
    for path, text in (
        (out / "peers.json", json.dumps(res, indent=1, default=str) + "\n"),
        (out / "peers.md", markdown(res)),
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    charts(res, out)
