"""Record tk runs in MLflow 3: the optional extra `tk[mlflow]`, imported only when asked for.

    tk train cfg.yaml --mlflow http://127.0.0.1:5000 --registered-model-name churn
    tk hyperopt cfg.yaml --mlflow sqlite:///mlflow.db   # a parent run, one child per trial (mlflow_search)

    from toolkit.tracking import mlflow as tk_mlflow
    model = tk_mlflow.train("cfg.yaml", output="runs/churn", tracking_uri="sqlite:///mlflow.db")

A run holds:
  params     the rendered config, flattened to dotted names: trainer.learning_rate,
             input_features.tenure.type (a feature list is keyed by feature name), …
  metrics    per epoch, step = epoch: train.loss, validation.<output>.<metric>, lr;
             at the end: final.<split>.<output>.<metric> for train, validation and test, best_epoch
  artifacts  model_dir/ (the model directory), report/ (`tk report`'s PNGs and report.html on the
             test rows of the data, or every row when there is no test split)
  model      `model`: the one-file model.onnx in MLflow's onnx flavor (mlflow.onnx.save_model), with
             a signature and an input example; its python_function flavor is tk's loader
             (toolkit.tracking.mlflow_pyfunc: see there why not MLflow's), so that
             mlflow.pyfunc.load_model(uri).predict(df) is `tk predict`'s DataFrame;
             registered under `registered_model_name` when given
  tags       tk.version, tk.model_type, tk.model_dir

Order: the run is opened before training, so an unreachable or refusing server stops there (one
line, exit 2, nothing trained). Epochs are logged as they end; a failure then is a warning and
training goes on. The model directory is written before anything else is logged, so a tracking
failure at the end loses no training: its one-line error names the directory.

The tracking URI: the one given, else MLFLOW_TRACKING_URI, else MLflow's default. A plain folder or
file: URI is MLflow's file store, which MLflow 3 refuses unless MLFLOW_ALLOW_FILE_STORE is set; naming
one is taken as that choice (the variable is set for this process when unset).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from toolkit.common import log
from toolkit.errors import TkError

#: seconds and retries while opening a run: a server that is down answers in one line, not after
#: MLflow's default 7 retries with backoff
CONNECT_TIMEOUT_S = 10
_BATCH = 100  # params / metrics per log_batch call (a server's limit is 100 params, 1000 metrics)


def _mlflow():
    try:
        import mlflow
    except ImportError:
        raise TkError("--mlflow: MLflow is not installed here; pip install 'tk-toolkit[mlflow]'") from None
    return mlflow


def mask(uri: str) -> str:
    """The URI with any password replaced by ***."""
    import re

    return re.sub(r"(://[^:/@]+:)[^@/]+@", r"\1***@", uri or "")


def resolve_uri(uri: str | None) -> str:
    """The tracking URI to use: `uri`, else MLFLOW_TRACKING_URI, else MLflow's default."""
    mlflow = _mlflow()
    if not uri:
        return mlflow.get_tracking_uri()
    if "://" not in uri and not uri.startswith(("databricks", "uc:")):  # a folder: the file store
        uri = Path(uri).resolve().as_uri()
    return uri


@contextmanager
def _few_retries():
    """MLflow's HTTP retries and timeout cut down while opening a run."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(CONNECT_TIMEOUT_S)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _why(e: BaseException) -> str:
    """One short line for an exception; a server that is not there says so."""
    text = str(e).strip()
    if "NewConnectionError" in text or "Connection refused" in text:
        return "no server answers there (connection refused)"
    if "Read timed out" in text or "ConnectTimeout" in text:
        return f"no answer within {CONNECT_TIMEOUT_S} s"
    first = text.splitlines()[0] if text else ""
    return f"{type(e).__name__}: {first}"[:240]


def flatten(value, prefix: str = "") -> dict[str, str]:
    """A rendered config as {dotted name: text}; a list of named features is keyed by name."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out |= flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        for v in value:
            out |= flatten({k: x for k, x in v.items() if k != "name"}, f"{prefix}.{v['name']}")
    else:
        out[prefix] = json.dumps(value) if isinstance(value, (list, bool)) or value is None else str(value)
    return out


def epoch_metrics(record: dict) -> dict[str, float]:
    """An epoch record (toolkit.training) as {metric: value}: train.loss, validation.<out>.<m>, lr."""
    found = {"train.loss": record.get("train_loss"), "lr": record.get("lr")}
    for out, ms in (record.get("validation") or {}).items():
        for m, v in ms.items():
            found[f"validation.{out}.{m}"] = v
    return {k: float(v) for k, v in found.items() if isinstance(v, (int, float)) and math.isfinite(v)}


class Run:
    """One MLflow run, opened by `start`; every call names the run id (no global active run)."""

    def __init__(self, client, run_id: str, uri: str, experiment_id: str):
        self.client, self.run_id, self.uri, self.experiment_id = client, run_id, uri, experiment_id
        self.failed_epochs: list[dict] = []  # epoch records that could not be logged live
        self._warned = False

    @classmethod
    def start(
        cls,
        uri: str | None,
        experiment: str | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
        experiment_id: str | None = None,
        tags: dict | None = None,
    ) -> "Run":
        """Open a run (a child of `parent_run_id` when given); TkError (exit 2) if the store cannot be used."""
        mlflow = _mlflow()
        from mlflow import MlflowClient

        uri = resolve_uri(uri)
        if uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # tk says where the run is
        mlflow.set_tracking_uri(uri)  # MLflow's model logging reads the global URI
        from toolkit.version import __version__

        tags = {"tk.version": __version__, **(tags or {})}
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        with _few_retries():
            try:
                client = MlflowClient(uri)
                if experiment_id is None:
                    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME")
                    if name:
                        found = client.get_experiment_by_name(name)
                        experiment_id = found.experiment_id if found else client.create_experiment(name)
                    else:
                        experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or "0"
                run = client.create_run(experiment_id, run_name=run_name, tags=tags)
            except Exception as e:  # connection refused, HTTP 4xx/5xx, a bad URI or a missing driver
                raise TkError(f"--mlflow {mask(uri)}: cannot open a run: {_why(e)}") from None
        return cls(client, run.info.run_id, uri, experiment_id)

    # ---- during training -----------------------------------------------------------

    def on_epoch(self, record: dict) -> None:
        """Log one epoch's metrics (step = epoch); a failure warns once and training goes on."""
        metrics = epoch_metrics(record)
        if self.failed_epochs:  # the server failed before: keep the rest for the end
            self.failed_epochs.append(record)
            return
        try:
            self.log_metrics(metrics, step=int(record["epoch"]))
        except Exception as e:
            self.failed_epochs.append(record)
            if not self._warned:
                log.warn(
                    f"--mlflow {mask(self.uri)}: epoch {record['epoch']} not logged ({_why(e)}); "
                    "training goes on, the epochs are sent again at the end"
                )
                self._warned = True

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, v, now, step) for k, v in metrics.items()]
        for i in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, metrics=items[i : i + _BATCH], synchronous=True)

    def log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v[:6000]) for k, v in params.items()]
        for i in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + _BATCH], synchronous=True)

    def log_config(self, cfg) -> None:
        import yaml

        from toolkit.config.schema import render

        self.log_params(flatten(yaml.safe_load(render(cfg))))

    # ---- after training ------------------------------------------------------------

    def log_training(self, model, model_dir: Path | None) -> None:
        """Epochs that failed live, final metrics per split, best epoch, tags, the model directory."""
        stats = model.stats
        for record in self.failed_epochs:
            self.log_metrics(epoch_metrics(record), step=int(record["epoch"]))
        self.failed_epochs = []
        final = {
            f"final.{split}.{out}.{m}": v
            for split, outs in stats.get("metrics", {}).items()
            for out, ms in outs.items()
            for m, v in ms.items()
        }
        final["best_epoch"] = stats.get("best_epoch")
        final["train_seconds"] = stats.get("train_seconds")
        self.log_metrics({k: float(v) for k, v in final.items() if isinstance(v, (int, float)) and math.isfinite(v)})
        self.client.set_tag(self.run_id, "tk.model_type", model.config.model_type)
        if model_dir is not None:
            self.client.set_tag(self.run_id, "tk.model_dir", str(Path(model_dir).resolve()))
            self.client.log_artifacts(self.run_id, str(model_dir), "model_dir")

    def log_report(self, model_dir: Path, frame) -> None:
        """`tk report` of the model on `frame` (a DataFrame): its PNGs and report.html under report/."""
        from toolkit.report import build

        with tempfile.TemporaryDirectory(prefix="tk-mlflow-report-") as tmp:
            quiet, log.quiet = log.quiet, True
            try:
                build.report([Path(model_dir)], frame, Path(tmp), importance_repeats=1)
            finally:
                log.quiet = quiet
            self.client.log_artifacts(self.run_id, tmp, "report")

    def log_model(self, model, example, registered_model_name: str | None = None):
        """The one-file model with signature and input example (toolkit.tracking.mlflow_model); ModelInfo."""
        from toolkit.tracking.mlflow_model import log_model

        return log_model(self, model, example, registered_model_name)

    @property
    def url(self) -> str:
        """Where the run is: its page on a tracking server, else the store's URI and the run id."""
        if self.uri.startswith(("http://", "https://")):
            return f"{mask(self.uri).rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"
        return f"{mask(self.uri)} (run {self.run_id})"

    def end(self, status: str = "FINISHED") -> None:
        try:
            self.client.set_terminated(self.run_id, status)
        except Exception as e:
            log.warn(f"--mlflow {mask(self.uri)}: run {self.run_id} not marked {status}: {_why(e)}")


def log_trained(
    run: Run, model, model_dir: Path | None, frame, registered_model_name: str | None, report: bool = True
) -> None:
    """Everything after training: metrics, the model directory, the report, the logged model."""
    from toolkit.tracking.mlflow_model import example_rows, test_rows

    run.log_training(model, model_dir)
    if report and frame is not None and model_dir is not None:
        run.log_report(model_dir, test_rows(model, frame))
    example = example_rows(model, frame) if frame is not None else None
    with _mlflow_quiet():
        info = run.log_model(model, example, registered_model_name)
    log.info(
        f"mlflow: {run.url}; model {info.model_uri}"
        + (f", registered as {registered_model_name}" if registered_model_name else "")
    )


@contextmanager
def _mlflow_quiet():
    """MLflow's own INFO lines and prints (registration, …) silenced while tk is quiet."""
    import contextlib
    import io
    import logging

    logger = logging.getLogger("mlflow")
    level = logger.level
    if not log.quiet:
        yield
        return
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def train(
    config,
    dataset=None,
    output="runs/model",
    tracking_uri: str | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
    registered_model_name: str | None = None,
    resume: bool = False,
    report: bool = True,
):
    """`toolkit.api.train` recorded in an MLflow run (see the module docstring); returns the model.

    `report=False` leaves out `tk report`'s PNGs (they take seconds)."""
    from toolkit import api

    cfg, base = api.config_and_base(config)
    source = dataset if dataset is not None else api.dataset_of(cfg, base, None)[0]
    run = Run.start(tracking_uri, experiment, run_name or Path(output).name)
    try:
        run.log_config(cfg)
    except Exception as e:
        run.end("FAILED")
        raise TkError(f"--mlflow {mask(run.uri)}: cannot log the config: {_why(e)}") from None
    try:
        model = api.train(cfg, source, output=output, resume=resume, on_epoch=run.on_epoch)
    except BaseException:
        run.end("FAILED")
        raise
    try:
        log_trained(run, model, Path(output), _frame_of(source), registered_model_name, report)
    except Exception as e:
        run.end("FAILED")
        why = str(e) if isinstance(e, TkError) else _why(e)
        raise TkError(f"the model is saved in {output}, but MLflow logging failed: {why}") from None
    run.end("FINISHED")
    return model


def _in_memory(source) -> bool:
    from toolkit.data import readers

    return not readers.should_stream(source)


def _frame_of(source):
    """The data as a DataFrame when it is read whole (not streamed), else None."""
    from toolkit.data import tables as data

    if hasattr(source, "columns"):
        return source
    return data.read_table(source) if _in_memory(source) else None
