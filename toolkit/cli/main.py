"""`tk`: thin typer commands; each parses its options and calls one function.

Imports stay inside the commands so `tk --help` and `tk config render` never
load torch. A TkError prints one line and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="tk: declarative ML. A YAML of columns in; a trained model and one ONNX file out.",
)
config_app = typer.Typer(no_args_is_help=True, help="Inspect configs: render defaults, print the JSON Schema.")
app.add_typer(config_app, name="config")


class _OptionalMlflowURI(typer.core.TyperCommand):
    """`--mlflow` alone (MLflow's default tracking URI) or with a URI: typer options always take a value."""

    def parse_args(self, ctx, args):
        args = list(args)
        for i, a in enumerate(args):
            if a == "--mlflow" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                args.insert(i + 1, "")
        return super().parse_args(ctx, args)


Mlflow = Annotated[
    str | None,
    typer.Option(
        "--mlflow",
        metavar="[TRACKING_URI]",
        show_default=False,
        help="Record the run in MLflow (pip install 'tk-toolkit[mlflow]'): a tracking URI, or none for "
        "MLFLOW_TRACKING_URI / MLflow's default.",
    ),
]
RegisteredName = Annotated[
    str | None,
    typer.Option("--registered-model-name", help="With --mlflow: register the logged model under this name."),
]
Dataset = Annotated[Path | None, typer.Option("--dataset", "-d", help="CSV, TSV, Parquet or JSON lines file.")]
Engine = Annotated[
    str, typer.Option("--engine", help="onnx: model.onnx in onnxruntime (default); torch: for debugging.")
]


def _run(fn, *args, **kwargs):
    """Call fn; turn a TkError into one line on stderr and exit code 2."""
    import gc

    from toolkit.errors import TkError

    try:
        result = fn(*args, **kwargs)
        # Interpreter teardown walks every object torch, sklearn and onnxruntime
        # created (1.6-2 s measured here); frozen objects are left to the OS.
        gc.freeze()
        return result
    except TkError as e:
        from toolkit.common import log

        for line in str(e).splitlines():
            log.error(line)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@app.command(cls=_OptionalMlflowURI)
def train(
    config: Annotated[Path, typer.Argument(help="The YAML config.")],
    dataset: Dataset = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write.")] = Path("runs/model"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from <output>.checkpoint after an interruption.")
    ] = False,
    nproc: Annotated[
        int,
        typer.Option(
            "--nproc",
            help="Training processes on this machine: DistributedDataParallel through torch's elastic launcher, data streamed.",
        ),
    ] = 1,
    mlflow: Mlflow = None,
    registered_model_name: RegisteredName = None,
):
    """Train a model from a config and write its model directory."""
    import os

    from toolkit import api
    from toolkit.common import log

    log.quiet = quiet
    tracked = mlflow is not None or registered_model_name
    if tracked and nproc != 1:
        raise typer.BadParameter("records a run of one process: drop --nproc", param_hint="--mlflow")
    if nproc != 1:
        from toolkit.cli import commands

        _run(commands.train_processes, config, dataset, output, quiet, resume, nproc)
        return
    if tracked:
        from toolkit.tracking import mlflow as tracking

        model = _run(
            tracking.train,
            config,
            dataset,
            output,
            mlflow or None,
            registered_model_name=registered_model_name,
            resume=resume,
        )
    else:
        model = _run(api.train, config, dataset, output=output, resume=resume)
    if os.environ.get("RANK", "0") != "0":  # a torchrun worker: rank 0 prints the summary
        return
    from toolkit.report.summary import print_train_summary

    _run(print_train_summary, model, output)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="A model directory written by `tk train`.")],
    dataset: Dataset = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only a JSON object of metrics.")] = False,
    engine: Engine = "onnx",
):
    """Metrics of a trained model on a labelled dataset."""
    from toolkit.cli import commands

    _run(commands.evaluate, model, dataset, as_json, engine)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="A model directory written by `tk train`.")],
    dataset: Dataset = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV, Parquet or JSON lines; default stdout (CSV).")
    ] = None,
    keep: Annotated[
        str | None, typer.Option(help="Comma-separated input columns to copy into the output (e.g. an id).")
    ] = None,
    engine: Engine = "onnx",
    chunk_rows: Annotated[
        int | None,
        typer.Option(
            "--chunk-rows",
            help="Stream the input in chunks of this many rows [default: stream only globs, directories and large files].",
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also why: per output and input, the input's share of the score (columns <output>::why::<input>).",
        ),
    ] = False,
):
    """Predict labels and probabilities for every row of a dataset (large inputs in chunks, written as they go)."""
    from toolkit.cli import commands

    _run(commands.predict, model, dataset, output, keep, engine, chunk_rows, explain)


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="A model directory written by `tk train`.")],
    onnx: Annotated[Path | None, typer.Option("--onnx", help="Write the single ONNX file here.")] = None,
    opset: Annotated[int, typer.Option(help="ai.onnx opset of the file (tk writes 20).")] = 20,
    quantize: Annotated[str | None, typer.Option(help="int8: dynamic quantization of the weights.")] = None,
    exporter: Annotated[str, typer.Option(help="torch.onnx exporter: torchscript (fast) or dynamo.")] = "torchscript",
    dataset: Dataset = None,
    bento: Annotated[
        str | None, typer.Option("--bento", help="Store model.onnx in the BentoML model store under this name.")
    ] = None,
    web: Annotated[
        Path | None,
        typer.Option(
            "--web", help="Write a static page that predicts in the browser (onnxruntime-web) to this folder."
        ),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Build model.onnx of the model directory again from its saved weights or trees (no retraining), e.g. to add explanations; --dataset gives an older model its background rows.",
        ),
    ] = False,
):
    """Export the model as one ONNX file (preprocessing + model + postprocessing), parity-checked."""
    from toolkit.cli import commands

    if rebuild:
        _run(commands.rebuild, model, dataset)
        if onnx is None and web is None and not bento:
            return

    if web is not None:
        from exporters import web as web_export

        _run(web_export.export_web, model, web, dataset)  # --dataset: the form's number medians
        if onnx is None and not bento:
            return
    if bento:
        from toolkit.cli import serve as serve_cmd

        _run(serve_cmd.export_bento, model, bento)
        if onnx is None:
            return
    _run(commands.export_onnx, model, onnx, opset, quantize, exporter, dataset)


@app.command()
def serve(
    model: Annotated[Path, typer.Argument(help="A model directory written by `tk train` (or its model.onnx).")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 exposes it beyond this machine).")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(help="Server processes, one Predictor each.")] = 1,
    threads: Annotated[
        int | None, typer.Option(help="onnxruntime threads per worker [default: cores // workers - 1, ≥ 1].")
    ] = None,
):
    """Serve a model over HTTP with BentoML: POST /predict, POST /predict_bulk, GET /metadata."""
    from toolkit.cli import serve as serve_cmd

    _run(serve_cmd.serve, model, port, host, workers, threads)


@app.command(cls=_OptionalMlflowURI)
def hyperopt(
    config: Annotated[Path, typer.Argument(help="The YAML config, with a `hyperopt:` section.")],
    dataset: Dataset = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the best model, trials.csv and plots.")
    ] = Path("runs/hyperopt"),
    trials: Annotated[int | None, typer.Option(help="Number of trials [default: hyperopt.trials].")] = None,
    jobs: Annotated[int, typer.Option(help="Trials run at once, each in its own process.")] = 1,
    storage: Annotated[
        str | None, typer.Option(help="Optuna storage URL [default: sqlite:///<output>/study.db].")
    ] = None,
    mlflow: Mlflow = None,
    registered_model_name: RegisteredName = None,
):
    """Search hyperparameters with Optuna; resumable, parallel, with early pruning."""
    from toolkit.hyperopt import run as hyperopt_run

    _run(
        hyperopt_run.hyperopt,
        config,
        dataset,
        output,
        trials,
        jobs,
        storage,
        mlflow if mlflow is not None or not registered_model_name else "",
        registered_model_name,
    )


@app.command()
def report(
    models: Annotated[list[Path], typer.Argument(help="One or more model directories written by `tk train`.")],
    dataset: Dataset = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for report.html and the PNGs.")] = Path(
        "report"
    ),
):
    """Write report.html and PNG plots: learning curves, confusion, ROC, calibration, importance."""
    from toolkit.report import build as report_build

    _run(report_build.report, models, dataset, output)


@app.command("init-config")
def init_config(
    dataset: Annotated[Path, typer.Argument(help="The data to look at.")],
    target: Annotated[list[str], typer.Option("--target", "-t", help="Column(s) to predict.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the YAML; default stdout.")
    ] = None,
):
    """Write a config with a type guessed for every column."""
    from toolkit.cli import commands

    _run(commands.init_config, dataset, target, output)


@config_app.command("render")
def config_render(config: Annotated[Path, typer.Argument(help="The YAML config.")]):
    """Print the config with every default filled in."""
    from toolkit.config import schema as cfgmod

    typer.echo(_run(lambda: cfgmod.render(cfgmod.load_config(config))), nl=False)


@config_app.command("schema")
def config_schema():
    """Print the JSON Schema of the config (for editor autocomplete)."""
    import json

    from toolkit.config import schema as cfgmod

    typer.echo(json.dumps(cfgmod.json_schema(), indent=2))


@config_app.command("plugins")
def config_plugins(
    config: Annotated[Path | None, typer.Argument(help="A YAML config whose `plugins:` load too.")] = None,
):
    """List the plugins tk loads (installed `tk.plugins` entry points, a config's `plugins:`) and their parts."""
    typer.echo(_run(_list_plugins, config))


def _list_plugins(config: Path | None) -> str:
    from toolkit.config import plugins
    from toolkit.config import schema as cfgmod

    if config is None:
        cfgmod.config_model()  # loads the installed plugins
    else:
        cfgmod.load_config(config)
    return plugins.describe()


if __name__ == "__main__":
    app()
