"""`tk export MODEL --web SITE`: a static page that predicts in the browser.

    SITE/index.html, app.js, style.css     the page (exporters/web_page/, plain HTML/JS/CSS)
    SITE/model.onnx                        the model's ONNX file + metadata `tk.web` (the form)
    SITE/ort/ort.wasm.min.js, ort-wasm-simd-threaded.{mjs,wasm}
                                           onnxruntime-web ORT_WEB_VERSION, copied from npm's package

The page reads the ONNX file's metadata_props (tk.inputs, tk.outputs, tk.features and the
`tk.web` entry written here) and builds its form from them; nothing is fetched from
another host. `tk.web` = {"version": 1, "title": str, "defaults_from": str,
"fields": [{"column", "feature", "type", "dtype", "default", ...type-specific keys}]}:

    number    default: median of the `--dataset` file when one is given, else the fill value; min, max
    date      default: the median training date (fitted), written in the column's format
    category  default: the most frequent training value; choices: the vocabulary
    binary    default: the most frequent side; labels: [false spelling, true spelling]
    text      default: ""; placeholder: a generic hint (never a training text: the page is public)
    set       default: ""; members: the vocabulary (suggestions); delimiter

onnxruntime-web comes from, in order: $TK_ONNXRUNTIME_WEB (an onnxruntime-web package
folder), a node_modules/onnxruntime-web in the working directory or the tk checkout
(examples/edge/node), the cache ~/.cache/tk/onnxruntime-web-<version> ($XDG_CACHE_HOME
respected), and last `npm pack onnxruntime-web@<version>` into that cache (needs npm and
the registry; the tarball's sha512 must equal ORT_WEB_INTEGRITY). Whatever the source, every
file copied into the site must have the size and sha256 pinned in ORT_WEB_FILES (those of the
npm tarball): a folder whose files differ is skipped with a warning (refused when named by
TK_ONNXRUNTIME_WEB), so a planted node_modules copy never reaches a site. The bytes hashed are
the bytes written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from toolkit.common import log
from toolkit.errors import TkError
from toolkit.features.text import PLACEHOLDER as TEXT_PLACEHOLDER  # noqa: F401  (the page's text fields)

ORT_WEB_VERSION = "1.30.0"  # the same pin as examples/edge/node/package.json
ORT_WEB_INTEGRITY = (
    "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1S"
    "igqR4CXAfKYQ=="
)  # npm's integrity of onnxruntime-web-1.30.0.tgz
#: name in dist/ → (bytes, sha256) of the files of onnxruntime-web-1.30.0.tgz (ORT_WEB_INTEGRITY) tk copies
ORT_WEB_FILES = {
    "ort.wasm.min.js": (50196, "faece07e84faa9001f5104bbe4e5c70861d06cb2376a0dea1fa0ad33a67adc81"),
    "ort-wasm-simd-threaded.mjs": (24381, "e13f7f94fc51b4ca72b12faeb1ee95f4ace6dfbc8939bc718aabdc0a27c4299b"),
    "ort-wasm-simd-threaded.wasm": (14239897, "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2"),
}
ORT_FILES = tuple(ORT_WEB_FILES)
PAGE = Path(__file__).with_name("web_page")
PAGE_FILES = ("index.html", "csv.js", "explain.js", "app.js", "style.css")
META_KEY = "tk.web"
MAX_DEFAULTS_FILE_BYTES = 256 << 20  # a larger --dataset is refused for the form's medians


# ---- the form: one field per raw column -----------------------------------------------------


def form_fields(model, frame=None) -> list[dict]:
    """One form field per raw input column: {column, feature, type, dtype} and what the feature type
    says of its control (`InputFeature.form_field`: default, choices, range, placeholder …).

    `model`: a TrainedModel (fitted features); `frame`: the training data (DataFrame) or None,
    given to each feature (numbers take their median from it).
    """
    fields, seen = [], set()
    for f in model.inputs:
        column = f.config.source
        if column in seen:  # two features on one column: the first one's field serves both
            continue
        seen.add(column)
        field = {"column": column, "feature": f.config.name, "type": f.type, "dtype": f.raw_dtype}
        fields.append(field | f.form_field(_frame_column(frame, column)))
    return fields


def _frame_column(frame, column):
    if frame is None or column not in frame.columns:
        return None
    return frame[column].to_numpy(dtype=object, na_value=None)


def defaults_frame(dataset) -> tuple[object, str]:
    """(DataFrame, its file name) of the `--dataset` the user named for the form's defaults, or (None,
    "features.json"): then every default comes from the fitted features. Nothing is read from a path
    found inside the model folder (training_stats.json names the training file, but whoever writes the
    folder could name any file there, and its statistics would be published)."""
    from toolkit.data import tables as data

    if dataset is None:
        return None, "features.json"
    path = Path(dataset)
    if not path.is_file():
        raise TkError(f"--dataset {path}: no such file (the web form's defaults are read from it)")
    if path.stat().st_size > MAX_DEFAULTS_FILE_BYTES:
        raise TkError(
            f"--dataset {path}: over {MAX_DEFAULTS_FILE_BYTES >> 20} MiB; the form's defaults need a "
            "smaller sample (or no --dataset: defaults from features.json)"
        )
    return data.read_table(path), path.name


def web_metadata(model, model_dir: Path, dataset=None) -> dict:
    frame, source = defaults_frame(dataset)
    return {
        "version": 1,
        "title": Path(model_dir).resolve().name,
        "defaults_from": source,
        "fields": form_fields(model, frame),
    }


# ---- onnxruntime-web: find, check, copy ------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tk" / f"onnxruntime-web-{ORT_WEB_VERSION}"


def _package_version(folder: Path) -> str | None:
    from toolkit.runtime.model_dir import read_regular

    try:  # bounded and non-blocking: a FIFO or a huge file planted as package.json is no package
        return json.loads(read_regular(folder / "package.json", limit=1 << 20, follow_links=True)).get("version")
    except (OSError, ValueError, AttributeError, TkError):
        return None


def _usable(folder: Path, where: str, strict: bool) -> bool:
    """True when `folder` is onnxruntime-web ORT_WEB_VERSION with every file we copy, as pinned."""
    version = _package_version(folder)
    if version is None:
        if strict:
            raise TkError(f"{where}: {folder} is not an onnxruntime-web package folder (no package.json)")
        return False
    if version != ORT_WEB_VERSION:
        if strict:
            raise TkError(
                f"{where}: {folder} holds onnxruntime-web {version}, tk needs {ORT_WEB_VERSION} "
                f"(npm install onnxruntime-web@{ORT_WEB_VERSION})"
            )
        log.info(f"--web: skipping {folder}: onnxruntime-web {version}, not {ORT_WEB_VERSION}")
        return False
    missing = [n for n in ORT_FILES if not (folder / "dist" / n).is_file()]
    if missing:
        if strict:
            raise TkError(f"{where}: {folder}/dist lacks {', '.join(missing)}")
        return False
    try:
        ort_files(folder)
    except TkError as e:
        if strict:
            raise TkError(f"{where}: {e}") from None
        log.warn(f"--web: skipping {folder}: {e}")
        return False
    return True


def ort_files(folder: Path) -> dict[str, bytes]:
    """name → bytes of the files tk copies from the package `folder`, each checked against ORT_WEB_FILES.

    The size is checked before reading (a link to /dev/zero or a FIFO is refused, not read).
    """
    import stat

    out = {}
    for name, (size, digest) in ORT_WEB_FILES.items():
        path = folder / "dist" / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            raise TkError(f"{path}: cannot be read: {e.strerror}") from None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size != size:
                raise TkError(
                    f"{path}: not the file onnxruntime-web {ORT_WEB_VERSION} ships "
                    f"({st.st_size if stat.S_ISREG(st.st_mode) else 'not a regular file'}, "
                    f"pinned {size} bytes)"
                )
            data = fh.read(size + 1)
        if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
            raise TkError(
                f"{path}: sha256 differs from the one pinned for onnxruntime-web {ORT_WEB_VERSION}; "
                "not copied into the site"
            )
        out[name] = data
    return out


def _candidates() -> list[Path]:
    checkout = Path(__file__).resolve().parents[1]
    found = [p / "node_modules" / "onnxruntime-web" for p in (Path.cwd(), *Path.cwd().parents)]
    return found + [
        checkout / "examples" / "edge" / "node" / "node_modules" / "onnxruntime-web",
        cache_dir() / "package",
    ]


def npm_pack(dest: Path) -> Path:
    """`npm pack onnxruntime-web@ORT_WEB_VERSION` into `dest`, integrity-checked and unpacked."""
    npm = shutil.which("npm")
    if npm is None:
        raise TkError(
            f"--web: onnxruntime-web {ORT_WEB_VERSION} not found and npm is not installed: install "
            f"Node.js (npm), or `npm install onnxruntime-web@{ORT_WEB_VERSION}` here, or set "
            "TK_ONNXRUNTIME_WEB to an onnxruntime-web package folder"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".tk-tmp-ort-") as tmp:
        log.info(f"--web: npm pack onnxruntime-web@{ORT_WEB_VERSION} → {dest}")
        proc = subprocess.run(
            [npm, "pack", f"onnxruntime-web@{ORT_WEB_VERSION}", "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        tgz = Path(tmp) / f"onnxruntime-web-{ORT_WEB_VERSION}.tgz"
        if proc.returncode != 0 or not tgz.is_file():
            why = (proc.stderr.strip().splitlines() or ["no tarball written"])[-1]
            raise TkError(
                f"--web: npm pack onnxruntime-web@{ORT_WEB_VERSION} failed: {why} (offline? set "
                "TK_ONNXRUNTIME_WEB to an onnxruntime-web package folder)"
            )
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if digest != ORT_WEB_INTEGRITY:
            raise TkError(f"--web: {tgz.name}: sha512 {digest[:24]}… differs from the pinned {ORT_WEB_INTEGRITY[:24]}…")
        wanted = ["package/package.json", *(f"package/dist/{n}" for n in ORT_FILES)]
        with tarfile.open(tgz) as tar:  # npm tarballs hold one folder, package/; keep what the site needs
            tar.extractall(tmp, members=[tar.getmember(n) for n in wanted], filter="data")
        try:
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(Path(tmp) / "package", dest)
        except OSError:  # another export unpacked it at the same moment: use theirs if it is whole
            if not _usable(dest, str(dest), strict=False):
                raise TkError(f"--web: could not write the onnxruntime-web cache {dest}") from None
    return dest


def find_ort_web() -> Path:
    """The onnxruntime-web package folder to copy from (see the module docstring for the order)."""
    explicit = os.environ.get("TK_ONNXRUNTIME_WEB")
    if explicit:
        folder = Path(explicit)
        folder = folder.parent if folder.name == "dist" else folder
        _usable(folder, "TK_ONNXRUNTIME_WEB", strict=True)
        return folder
    for folder in _candidates():
        if _usable(folder, str(folder), strict=False):
            return folder
    folder = npm_pack(cache_dir() / "package")
    _usable(folder, "npm pack", strict=True)
    return folder


# ---- the site --------------------------------------------------------------------------------


def site_model(model, meta: dict) -> bytes:
    """The model's ONNX bytes with the `tk.web` metadata entry added (replaced if present)."""
    import onnx

    proto = onnx.load_from_string(model.onnx_bytes)  # the directory's model.onnx, or a fresh export
    props = [p for p in proto.metadata_props if p.key != META_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(props)
    proto.metadata_props.append(onnx.StringStringEntryProto(key=META_KEY, value=json.dumps(meta)))
    return proto.SerializeToString()


def export_web(model_dir: Path, out_dir: Path, dataset: Path | None = None) -> None:
    """Write the static site for the model directory `model_dir` into `out_dir`; the form's number
    defaults are the medians of `dataset` when given, else every default comes from features.json."""
    from toolkit import api
    from toolkit.runtime.model_dir import atomic_write, model_dir_of

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TkError(f"--web {out_dir}: is a file; give a folder")
    inside = model_dir_of(out_dir)
    if inside == out_dir.absolute() or out_dir.resolve() == Path(model_dir).resolve():
        raise TkError(f"--web {out_dir}: is a model directory (its model.onnx would be replaced); give another folder")
    if inside is not None:
        raise TkError(
            f"--web {out_dir}: is inside the model directory {inside} (the next save there would "
            "delete it); give another folder"
        )
    ort = ort_files(find_ort_web())
    model = api.load(model_dir)
    meta = web_metadata(model, Path(model_dir), dataset)
    onnx_bytes = site_model(model, meta)
    (out_dir / "ort").mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        atomic_write(out_dir / name, (PAGE / name).read_bytes())
    for name, data in ort.items():
        atomic_write(out_dir / "ort" / name, data)
    atomic_write(
        out_dir / "ort" / "VERSION",
        f"onnxruntime-web {ORT_WEB_VERSION} (MIT License), files from its npm package\n".encode(),
    )
    atomic_write(out_dir / "model.onnx", onnx_bytes)
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file()) / 2**20
    log.info(
        f"wrote {out_dir}/ (index.html, model.onnx, ort/ onnxruntime-web {ORT_WEB_VERSION}; "
        f"{size:.1f} MiB); serve it: python -m http.server -d {out_dir} 8000"
    )
