"""`tk train --mlflow` against a real MLflow tracking server (SQLite backend, local artifact folder) and a
plain file store: params, metric history, artifacts, the registered model, and mlflow.pyfunc predictions
equal to `tk predict`'s; a server that is down or refuses is one line and exit 2, after training is saved."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import CHURN, ROOT

mlflow = pytest.importorskip("mlflow", reason="the optional extra tk[mlflow] is not installed")

SERVER_START_S = 180  # an MLflow server on a loaded 2-core machine takes 20-60 s to migrate and listen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mlflow server` on 127.0.0.1 (SQLite, local artifacts), stopped by its process group at the end."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log_path = folder / "server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(folder / "artifacts"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=folder,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not up in {SERVER_START_S} s: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)


def _stop(proc) -> None:
    """End the server's process group (it was started in a session of its own), by its id."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):  # uvicorn waits on open keep-alive connections
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def _config(tmp_path: Path, example: str, epochs: int = 2, rows: int | None = None) -> Path:
    """The example's config with few epochs (and its first `rows` rows), written next to its data."""
    cfg = yaml.safe_load((ROOT / "examples" / example / "config.yaml").read_text())
    data = ROOT / "examples" / example / cfg["dataset"]
    if rows:
        df = pd.read_csv(data).iloc[:rows]
        data = tmp_path / f"{example}.csv"
        df.to_csv(data, index=False)
    cfg["dataset"] = str(data)
    cfg["trainer"] = {**cfg.get("trainer", {}), "epochs": epochs}
    path = tmp_path / f"{example}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _tk(*argv):
    from typer.testing import CliRunner

    from toolkit.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in argv])


def _pyfunc_vs_tk(model_uri: str, model_dir: Path, df: pd.DataFrame) -> float:
    """max |Δ| between mlflow.pyfunc's and `tk predict`'s probabilities/values; labels must be equal."""
    from toolkit import api

    got = mlflow.pyfunc.load_model(model_uri).predict(df)
    want = api.load(model_dir).predict(df)
    assert list(got.columns) == list(want.columns)
    worst = 0.0
    for c in want.columns:
        if want[c].dtype.kind == "f":
            worst = max(worst, float(np.abs(got[c].to_numpy(np.float64) - want[c].to_numpy(np.float64)).max()))
        else:
            assert (got[c].to_numpy() == want[c].to_numpy()).all(), c
    return worst


def test_train_churn_on_a_tracking_server(server, tmp_path):
    from mlflow import MlflowClient

    out = tmp_path / "churn"
    result = _tk(
        "train",
        _config(tmp_path, "churn", rows=3000),
        "-o",
        out,
        "-q",
        "--mlflow",
        server,
        "--registered-model-name",
        "churn",
    )
    assert result.exit_code == 0, result.output
    client = MlflowClient(server)
    run = client.search_runs(["0"], order_by=["start_time DESC"], max_results=1)[0]
    assert run.info.status == "FINISHED" and run.info.run_name == "churn"
    params = run.data.params
    assert params["trainer.epochs"] == "2" and params["input_features.tenure.type"] == "number"
    assert params["output_features.churn.type"] == "binary"
    history = client.get_metric_history(run.info.run_id, "validation.churn.loss")
    assert [m.step for m in history] == [1, 2]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train.loss")] == [1, 2]
    for split in ("train", "validation", "test"):
        assert 0.5 < run.data.metrics[f"final.{split}.churn.roc_auc"] <= 1
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "model_dir")}
    assert {"model_dir/model.onnx", "model_dir/manifest.json", "model_dir/config.yaml"} <= listed
    pngs = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {"report/churn_roc.png", "report/learning_curves.png"} <= pngs
    version = client.get_registered_model("churn").latest_versions[0]
    assert version.run_id == run.info.run_id
    mlflow.set_tracking_uri(server)
    df = pd.read_csv(tmp_path / "churn.csv")
    assert _pyfunc_vs_tk(f"models:/churn/{version.version}", out, df) <= 1e-6
    # the onnx flavor holds the same one-file model
    onnx_model = mlflow.onnx.load_model(f"models:/churn/{version.version}")
    assert onnx_model.SerializeToString() == (out / "model.onnx").read_bytes()


@pytest.mark.parametrize("example, rows", [("reviews", 600), ("diamonds", 3000)])
def test_file_store_pyfunc_equals_tk_predict(example, rows, tmp_path):
    from mlflow import MlflowClient

    from toolkit.tracking import mlflow as tracking

    store = tmp_path / "mlruns"
    out = tmp_path / example
    tracking.train(_config(tmp_path, example, epochs=1, rows=rows), output=out, tracking_uri=str(store), report=False)
    client = MlflowClient(store.resolve().as_uri())
    run = client.search_runs(["0"], max_results=1)[0]
    assert run.info.status == "FINISHED"
    model_id = run.outputs.model_outputs[0].model_id
    df = pd.read_csv(tmp_path / f"{example}.csv")
    assert _pyfunc_vs_tk(f"models:/{model_id}", out, df) <= 1e-6


def test_server_down_is_one_line_and_nothing_trained(tmp_path):
    out = tmp_path / "m"
    started = time.monotonic()
    result = _tk("train", _config(tmp_path, "churn"), "-o", out, "--mlflow", f"http://127.0.0.1:{_free_port()}")
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "cannot open a run" in lines[0] and "connection refused" in lines[0], lines
    assert not out.exists() and time.monotonic() - started < 30


class _Refuse(BaseHTTPRequestHandler):
    """Forwards MLflow's API calls to the real server but refuses artifact uploads (HTTP 403)."""

    target = ""

    def _forward(self):
        if "/artifacts" in self.path or self.command == "PUT":
            self.send_response(403)
            self.end_headers()
            self.wfile.write(b'{"error_code": "PERMISSION_DENIED", "message": "uploads refused"}')
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        req = urllib.request.Request(
            self.target + self.path,
            data=body,
            method=self.command,
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, data, ctype = r.status, r.read(), r.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as e:
            status, data, ctype = e.code, e.read(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, *args):
        pass


def test_refused_uploads_keep_the_trained_model(server, tmp_path):
    handler = type("Handler", (_Refuse,), {"target": server})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "m"
        result = _tk(
            "train",
            _config(tmp_path, "churn", rows=1000),
            "-o",
            out,
            "-q",
            "--mlflow",
            f"http://127.0.0.1:{proxy.server_address[1]}",
        )
    finally:
        proxy.shutdown()
    assert result.exit_code == 2, result.output
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and f"the model is saved in {out}" in lines[0], lines
    from toolkit import api

    assert api.load(out).predict(pd.read_csv(CHURN / "churn.csv").iloc[:5]).shape[0] == 5


def test_hyperopt_one_child_run_per_trial(server, tmp_path):
    from mlflow import MlflowClient

    cfg = yaml.safe_load(_config(tmp_path, "churn", epochs=2, rows=1000).read_text())
    cfg["hyperopt"] = {
        "trials": 2,
        "seed": 1,
        "parameters": {"trainer.learning_rate": {"space": "loguniform", "low": 1e-3, "high": 1e-2}},
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = _tk("hyperopt", path, "-o", tmp_path / "search", "--mlflow", server)
    assert result.exit_code == 0, result.output
    client = MlflowClient(server)
    runs = client.search_runs(["0"], filter_string="tags.`tk.hyperopt.study` != ''")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    parent = runs[0]
    children = client.search_runs(["0"], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert sorted(r.data.tags["tk.trial"] for r in children) == ["0", "1"]
    for child in children:
        assert child.info.status in ("FINISHED", "KILLED")
        assert "trial.trainer.learning_rate" in child.data.params
        assert [m.step for m in client.get_metric_history(child.info.run_id, "validation.churn.loss")][0] == 1
    assert "best.value" in parent.data.metrics
    assert {"best_config.yaml", "trials.csv"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}
