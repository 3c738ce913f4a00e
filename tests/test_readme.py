"""README.md's code blocks run as written.

Every ```bash / ```sh / ```python / ```yaml block in README.md is preceded by a marker line:

    <!-- test: run -->                 run it (yaml blocks: rendered by `tk config render`)
    <!-- test: skip (why it is not) --> not run; the reason is shown by `pytest -ra`

Blocks run in README order in one sandbox folder holding a small copy of examples/churn (every
8th row, ~880 rows, the same config), so a later block may use what an earlier one wrote
(`runs/churn`, `churn.onnx`) and the whole file takes seconds, not minutes. Shell blocks run
under `bash -euo pipefail` with `tk` on the PATH (this tree's `python -m toolkit.cli`); Python
blocks run in a fresh interpreter with this tree first on sys.path. ```text blocks and blocks
without a language are output shown to the reader and are not run.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CODE_LANGUAGES = {"bash", "sh", "shell", "python", "yaml"}
MARKER = re.compile(r"<!--\s*test:\s*(run|skip)\b\s*(.*?)\s*-->")
FENCE = re.compile(r"^```\s*([\w+-]*)")
EVERY_NTH_ROW = 8
BLOCK_TIMEOUT_S = 300


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    action: str  # "run", "skip" or "" (no marker)
    reason: str

    @property
    def name(self) -> str:
        return f"README.md:{self.line}:{self.language}"


def readme_blocks(text: str) -> list[Block]:
    """Fenced blocks with their language and the marker on the last non-blank line before them."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, language = i, m.group(1).lower()
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        marker = MARKER.search(prev)
        action, reason = (marker.group(1), marker.group(2).strip("() ")) if marker else ("", "")
        blocks.append(Block(start + 1, language, "\n".join(lines[start + 1 : j]) + "\n", action, reason))
        i = j + 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
CODE = [b for b in BLOCKS if b.language in CODE_LANGUAGES]


def test_the_readme_has_runnable_blocks():
    assert sum(b.action == "run" for b in CODE) >= 3, [b.name for b in CODE]


def test_every_code_block_is_marked_run_or_skip_with_a_reason():
    unmarked = [b.name for b in CODE if not b.action]
    assert not unmarked, (
        f"{unmarked}: put `<!-- test: run -->` or `<!-- test: skip (why) -->` on the "
        "line before each bash/sh/python/yaml block of README.md"
    )
    no_reason = [b.name for b in CODE if b.action == "skip" and not b.reason]
    assert not no_reason, f"{no_reason}: a skipped block says why: `<!-- test: skip (why) -->`"


SECTION = re.compile(r"--8<-- \[(start|end):([\w-]+)\]")


def test_every_section_the_site_includes_is_opened_and_closed_once():
    """The docs site includes README sections (`--8<-- "README.md:name"`); an unclosed one would pull in the rest."""
    marks = [m.groups() for m in SECTION.finditer(README.read_text(encoding="utf-8"))]
    names = {name for _, name in marks}
    for name in names:
        assert marks.count(("start", name)) == 1 and marks.count(("end", name)) == 1, (name, marks)
        assert marks.index(("start", name)) < marks.index(("end", name)), name
    used = set()
    for page in (ROOT / "docs").rglob("*.md"):
        used |= set(re.findall(r'--8<-- "README\.md:([\w-]+)"', page.read_text(encoding="utf-8")))
    assert used <= names, f"docs include README sections that do not exist: {sorted(used - names)}"


def test_a_marker_and_a_fence_are_parsed():
    text = "x\n<!-- test: skip (needs a server) -->\n```bash\ntk serve runs/a\n```\n\n```text\nout\n```\n"
    (b, t) = readme_blocks(text)
    assert (b.line, b.language, b.action, b.reason, b.code) == (
        3,
        "bash",
        "skip",
        "needs a server",
        "tk serve runs/a\n",
    )
    assert (t.language, t.action) == ("text", "")


class Sandbox:
    """A folder with a small examples/churn and a `tk` on the PATH; runs blocks once each, in order."""

    def __init__(self, path: Path):
        self.path = path
        churn = path / "examples" / "churn"
        churn.mkdir(parents=True)
        src = ROOT / "examples" / "churn"
        lines = (src / "churn.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        (churn / "churn.csv").write_text(lines[0] + "".join(lines[1::EVERY_NTH_ROW]), encoding="utf-8")
        for name in ("config.yaml", "sample.csv"):
            shutil.copy(src / name, churn / name)
        bin_dir = path / "bin"
        bin_dir.mkdir()
        tk = bin_dir / "tk"
        tk.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m toolkit.cli "$@"\n')
        tk.chmod(tk.stat().st_mode | stat.S_IXUSR)
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.done: set[int] = set()

    def command(self, block: Block) -> list[str]:
        if block.language == "python":
            return [sys.executable, "-c", block.code]
        if block.language == "yaml":
            cfg = self.path / f"readme-{block.line}.yaml"
            cfg.write_text(block.code, encoding="utf-8")
            return ["tk", "config", "render", str(cfg)]
        return ["bash", "-euo", "pipefail", "-c", block.code]

    def run(self, block: Block) -> subprocess.CompletedProcess | None:
        """Run `block` (after the runnable blocks above it, each of which must succeed); None when it ran
        already, as one of those of a later block."""
        for earlier in CODE:  # what a block uses was written by the runnable blocks above it
            if earlier.line < block.line and earlier.action == "run" and earlier.line not in self.done:
                proc = self.run(earlier)
                assert proc is None or proc.returncode == 0, failure(earlier, proc)
        if block.line in self.done:
            return None
        self.done.add(block.line)
        return subprocess.run(
            self.command(block),
            check=False,
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
        )


def failure(block: Block, proc: subprocess.CompletedProcess) -> str:
    return (
        f"{block.name} exited {proc.returncode}\n--- block:\n{block.code}"
        f"--- stdout:\n{proc.stdout[-4000:]}\n--- stderr:\n{proc.stderr[-4000:]}"
    )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return Sandbox(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("block", CODE, ids=[b.name for b in CODE])
def test_readme_block(block, sandbox):
    if block.action != "run":
        pytest.skip(f"{block.name}: {block.reason or 'no marker'}")
    proc = sandbox.run(block)
    assert proc is None or proc.returncode == 0, failure(block, proc)
