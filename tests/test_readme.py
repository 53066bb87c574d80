"""Every ```python block of README.md runs (issue 13: snippets used names they never defined).

The blocks run in order in one shared namespace, as a reader types them into one session: a block
may use what an earlier block defined. A block that starts with ``>>>`` is a doctest and its
printed output is checked too. A block that cannot run here (it needs a GPU, the network) is
marked in README.md by an HTML comment on the line before its fence, which a rendered README hides:

    <!-- no-test: needs a GPU -->
    ```python

and only such blocks are skipped, with the reason the comment gives. Files the snippets write
(checkpoints, traces) go to a temporary folder.
"""

from __future__ import annotations

import doctest
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpucell import backend

README = Path(__file__).resolve().parent.parent / "README.md"
_NO_TEST = re.compile(r"^\s*<!--\s*no-test:\s*(?P<why>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    line: int          # 1-based line of the opening fence
    source: str
    skip_reason: str | None


def python_blocks(markdown: str) -> list[Block]:
    """The ```python blocks of ``markdown``, each with the reason of a ``<!-- no-test: ... -->``
    comment on the nearest non-blank line before its fence (None when there is none)."""
    blocks, lines, i = [], markdown.splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```python\s*$", lines[i])
        if not fence:
            i += 1
            continue
        indent, start = fence.group(1), i
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _NO_TEST.match(previous)
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"README.md:{start + 1}: the ```python block is never closed")
        blocks.append(Block(start + 1, "\n".join(body) + "\n", marker.group("why") if marker else None))
        i += 1
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))
_after: dict[int, dict] = {}  # index -> the namespace after that block ran (memoised, in order)


def _run(block: Block, namespace: dict) -> None:
    if block.source.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(block.source, namespace, f"README.md:{block.line}",
                                                   str(README), block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        report: list[str] = []
        runner.run(test, out=report.append, clear_globs=False)
        namespace.update(test.globs)
        assert runner.failures == 0, "".join(report)
    else:
        exec(compile(block.source, f"README.md:{block.line}", "exec"), namespace)


def _namespace_after(index: int, workdir: Path) -> dict:
    """Runs the blocks up to ``index`` (each once) and returns the namespace after it."""
    if index < 0:
        return {"__name__": "__readme__"}
    if index not in _after:
        namespace = dict(_namespace_after(index - 1, workdir))
        if BLOCKS[index].skip_reason is None:
            here = os.getcwd()
            os.chdir(workdir)
            try:
                _run(BLOCKS[index], namespace)
            finally:
                os.chdir(here)
        _after[index] = namespace
    return _after[index]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    import gpucell as ms
    from gpucell.jit import clear_cache

    device, mode = backend.get_device(), ms.get_context("mode")
    yield tmp_path_factory.mktemp("readme")
    _after.clear()
    clear_cache()
    backend.set_device(device)
    ms.set_context(mode=mode)


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[f"line{b.line}" for b in BLOCKS])
def test_readme_python_block_runs(index, workdir):
    block = BLOCKS[index]
    if block.skip_reason is not None:
        pytest.skip(f"README.md:{block.line} is marked no-test: {block.skip_reason}")
    _namespace_after(index, workdir)


def test_the_readme_has_python_blocks_and_skips_none_without_a_reason():
    assert len(BLOCKS) >= 8
    assert all(b.skip_reason for b in BLOCKS if b.skip_reason is not None)


def test_a_no_test_comment_skips_only_the_next_block():
    markdown = "\n".join([
        "```python", "a = 1", "```",
        "<!-- no-test: needs a GPU -->", "", "```python", "b = 2", "```",
        "```bash", "echo no", "```",
        "  ```python", "  c = 3", "  ```",
    ])
    blocks = python_blocks(markdown)
    assert [(b.line, b.source, b.skip_reason) for b in blocks] == [
        (1, "a = 1\n", None), (6, "b = 2\n", "needs a GPU"), (12, "c = 3\n", None)]
    with pytest.raises(ValueError, match="never closed"):
        python_blocks("```python\nx = 1\n")
