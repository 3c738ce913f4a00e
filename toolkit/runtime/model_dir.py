"""The model directory: written atomically, verified on load.

    config.yaml          the resolved config (every default filled in)
    features.json        learned feature state (vocabularies, means, …)
    model.safetensors    torch weights
    training_stats.json  per-epoch history, metrics per split, data summary
    model.onnx           preprocessing + model + postprocessing (when exported)
    manifest.json        format, versions, sha256 and size of every file above

All files are first written into a hidden sibling directory; the manifest is
written last; then the directory is renamed into place. A directory without a
manifest, or whose files do not match it, is refused with a message naming
the file. Nothing here is ever unpickled.

Reading is as careful as writing: a file of a model directory is opened
without following a symbolic link and without blocking (a FIFO is refused,
not waited on), must be a regular file whose size is the manifest's before a
byte is read, and then must match its sha256. The directory itself may be a
symbolic link (`runs/current -> runs/v3`); the files in it may not.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import time
from pathlib import Path

from toolkit.errors import TkError

FORMAT = "tk-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20  # a manifest lists a handful of files: a few hundred bytes
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` through a temp file in the same directory and a rename.

    `durable` also fsyncs the file before the rename, so that it survives a
    power cut; without it the write still survives a killed process (the
    rename is atomic either way). Per-epoch checkpoints skip it: 68 fsyncs
    cost 0.2-0.5 s of a churn run here.
    """
    path = Path(path)
    if path.is_dir():
        raise TkError(f"{path}: is a directory; give a file path")
    if not path.parent.is_dir():
        raise TkError(f"{path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_regular(
    path: Path, size: int | None = None, limit: int | None = None, follow_links: bool = False, listed_in: str = MANIFEST
) -> bytes:
    """The bytes of the regular file `path`: never through a symlink, never blocking on a FIFO.

    `size`: the size the file must have (checked before reading); `limit`: the
    most bytes it may have; `follow_links`: for a file the user named
    themselves (a bare .onnx), a link is followed, but it must still end in a
    regular file; `listed_in`: the file that gives `size`, for messages.
    FileNotFoundError propagates (callers say what is missing);
    anything else that is not a plain readable file is a TkError.
    """
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise TkError(
                f"{path}: is a symbolic link; tk reads a model's files only as regular files, "
                "never through a link (copy the file in)"
            ) from None
        raise TkError(f"{path}: cannot be read: {e.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise TkError(f"{path}: is {_kind(st.st_mode)}, not a regular file")
    with os.fdopen(fd, "rb") as fh:
        if size is not None and st.st_size != size:
            raise TkError(
                f"{path}: {st.st_size} bytes, {listed_in} says {size}; the file was changed or damaged after training"
            )
        if limit is not None and st.st_size > limit:
            raise TkError(
                f"{path}: {st.st_size} bytes, more than the {limit} a {path.name} can have; "
                "the model directory is damaged"
            )
        expected = st.st_size if size is None else size
        data = fh.read(expected + 1)  # bounded: a file growing while read cannot fill memory
    if len(data) != expected:
        raise TkError(f"{path}: changed while it was read ({len(data)} bytes, expected {expected})")
    return data


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def versions() -> dict[str, str]:
    """Versions of what made the model (only of modules already imported)."""
    from toolkit.version import __version__

    out = {"tk": __version__, "python": sys.version.split()[0]}
    for mod in ("torch", "onnx", "onnxruntime", "numpy", "pandas"):
        if mod in sys.modules:
            out[mod] = getattr(sys.modules[mod], "__version__", "?")
    return out


def check_manifest(manifest, where: str) -> dict:
    """`manifest` (parsed JSON) if it has the shape write_model_dir gives it, else a one-line TkError.

    {"format": "tk-model", "format_version": int, "files": {name: {"sha256": 64 hex, "bytes": int ≥ 0}}}
    """

    def bad(what: str):
        return TkError(f"{where}: {what}; the model directory is damaged")

    if not isinstance(manifest, dict):
        raise bad(f"a manifest is a JSON object, got {type(manifest).__name__}")
    if manifest.get("format") != FORMAT:
        raise TkError(f"{where}: not a tk model manifest (format {manifest.get('format')!r}, expected {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise bad(f"format_version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise TkError(f"{where}: made by a newer tk (format {version}); upgrade tk")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise bad(f"'files' must be an object of file name → {{sha256, bytes}}, got {_json_type(files)}")
    for name, entry in files.items():
        if not isinstance(entry, dict):
            raise bad(f"files[{name!r}] must be an object {{sha256, bytes}}, got {_json_type(entry)}")
        digest, size = entry.get("sha256"), entry.get("bytes")
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise bad(f"files[{name!r}].sha256 {str(digest)[:80]!r} is not 64 lowercase hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad(f"files[{name!r}].bytes {str(size)[:80]!r} is not a size in bytes")
    return manifest


def _json_type(value) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def read_manifest(path: Path) -> dict:
    """The checked manifest of the model directory `path` (TkError naming what is wrong)."""
    path = Path(path)
    where = path / MANIFEST
    try:
        text = read_regular(where, limit=MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise TkError(
            f"{path}: incomplete model directory: no {MANIFEST} (training did not finish, or this is not a tk model)"
        ) from None
    try:
        manifest = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TkError(f"{where}: not valid JSON; the model directory is damaged") from None
    return check_manifest(manifest, str(where))


def model_dir_of(path: Path) -> Path | None:
    """The tk model directory that is `path` or holds it (at any depth), or None.

    A directory counts when its manifest.json names the tk format (whether or
    not the rest of it is whole): writing there would break or lose a model.
    """
    path = Path(path).absolute()
    for folder in (path, *path.parents):
        candidate = folder / MANIFEST
        if candidate.is_file() and not candidate.is_symlink():
            try:
                if json.loads(read_regular(candidate, limit=MAX_MANIFEST_BYTES)).get("format") == FORMAT:
                    return folder
            except (TkError, OSError, ValueError, AttributeError):
                continue
    return None


def check_output_dir(out: Path) -> None:
    """A TkError unless `out` may become a model directory: absent, empty, or a tk model already
    (its manifest parses as one). Call it before training too, so a refusal costs no training run."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise TkError(f"--output {out}: exists and is not a directory")
        if any(out.iterdir()):
            try:
                read_manifest(out)
            except TkError as e:
                raise TkError(
                    f"--output {out}: a non-empty directory that is not a tk model "
                    f"({_reason(e, out)}); choose another path or empty it"
                ) from None


def write_model_dir(out: Path, files: dict[str, bytes]) -> None:
    """Write `files` (name → bytes) plus a manifest as the directory `out`, atomically.

    An existing tk model directory at `out` (its manifest parses as one) is
    replaced; any other non-empty directory or file there is refused, so no
    user data is overwritten.
    """
    out = Path(out)
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tk-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": versions(),
        "files": {},
    }
    for name, data in files.items():
        atomic_write(tmp / name, data)
        manifest["files"][name] = {"sha256": sha256(data), "bytes": len(data)}
    atomic_write(tmp / MANIFEST, json.dumps(manifest, indent=2).encode())
    old = out.parent / f".{out.name}.tk-old-{os.getpid()}"
    if out.exists() or out.is_symlink():
        os.replace(out, old)
    os.replace(tmp, out)
    if old.is_symlink():
        old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)


def _reason(error: TkError, folder: Path) -> str:
    """The error's text without the leading path (the caller names the folder itself)."""
    text = str(error)
    for prefix in (f"{folder / MANIFEST}: ", f"{folder}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def read_model_dir(path: Path, names: list[str]) -> dict[str, bytes]:
    """Read and verify the named files of a model directory against its manifest."""
    path = Path(path)
    if not path.is_dir():
        old = sorted(path.parent.glob(f".{path.name}.tk-old-*")) if path.parent.is_dir() else []
        if old:  # killed between the two renames of write_model_dir
            raise TkError(
                f"{path}: incomplete model directory: a save was interrupted; the previous model is in {old[-1]}"
            )
        raise TkError(f"{path}: no such model directory")
    manifest = read_manifest(path)
    out = {}
    for name in names:
        entry = manifest["files"].get(name)
        if entry is None:
            raise TkError(f"{path}: incomplete model directory: {name} is not in the manifest")
        try:
            data = read_regular(path / name, size=entry["bytes"])
        except FileNotFoundError:
            raise TkError(f"{path / name}: missing; the model directory is incomplete") from None
        if sha256(data) != entry["sha256"]:
            raise TkError(
                f"{path / name}: sha256 does not match {MANIFEST}; the file was changed or damaged after training"
            )
        out[name] = data
    return out


def manifest_files(path: Path) -> set[str]:
    """Names the manifest lists (empty when there is no readable manifest; load then says why)."""
    try:
        return set(read_manifest(Path(path))["files"])
    except TkError:
        return set()
