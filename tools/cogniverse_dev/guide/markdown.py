"""A guide's shell commands, read from its Markdown: one logical line of a ```bash block each
(comment lines dropped, lines ending in `\\` joined), what the block's declaration comment says its
`<name>` placeholders mean (meaning.py), and the placeholders filled by a lookup."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .meaning import Meaning, declarations

FENCE = re.compile(r"^```(\w*)\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")
URL = re.compile(r"https?://([A-Za-z0-9.-]+)(?::\d+)?")
#: Hosts that are the cluster itself (a port-forward or an in-cluster name), not the internet.
LOCAL_HOSTS = ("localhost", "127.0.0.1")
SHELL_BLOCKS = ("bash", "sh", "shell", "console")


@dataclass(frozen=True)
class GuideCommand:
    """One shell command of a guide, where it is, and what it says about itself."""

    text: str
    line: int  # 1-based line of the command's first line in the Markdown file
    section: str  # the nearest heading above it
    comment: str = ""  # the comment line right above it, if any
    declared: tuple[tuple[str, Meaning], ...] = ()  # what its block's declaration comment says

    @property
    def placeholders(self) -> list[str]:
        return PLACEHOLDER.findall(self.text)

    @property
    def argv(self) -> list[str]:
        """The words of the command (shell quoting removed); only meaningful for simple commands."""
        try:
            return shlex.split(self.text, comments=True)
        except ValueError:
            return self.text.split()

    def internet_hosts(self) -> list[str]:
        """Hosts outside the cluster that the command downloads from (it cannot run offline)."""
        hosts = [h for h in URL.findall(self.text) if h not in LOCAL_HOSTS and "." in h]
        return hosts


class GuideError(ValueError):
    """A guide that cannot be read as written (a malformed or unused declaration), naming its line."""


def commands(markdown: str) -> list[GuideCommand]:
    """Every command of the shell code blocks of a Markdown text, in order."""
    out: list[GuideCommand] = []
    section = ""
    in_block: str | None = None
    pending = ""
    start = 0
    comment = ""
    note: tuple[int, str] | None = None  # a declaration comment being read: (first line, text so far)
    declared: dict[str, Meaning] = {}
    declared_at = 0
    block_start = 0
    for number, raw in enumerate(markdown.splitlines(), 1):
        stripped = raw.strip()
        fence = FENCE.match(stripped)
        if in_block is None:
            if note or stripped.startswith("<!-- placeholders:"):
                note = (note[0] if note else number, (note[1] + "\n" if note else "") + stripped)
                if "-->" in stripped:
                    try:
                        declared, declared_at = declarations(note[1]), note[0]
                    except ValueError as exc:
                        raise GuideError(f"line {note[0]}: {exc}") from None
                    note = None
                continue
            if fence:
                in_block = fence.group(1) or "text"
                comment = ""
                block_start = len(out)
                continue
            if declared and stripped:
                raise GuideError(f"line {declared_at}: a placeholders comment goes right above the code block "
                                 f"whose commands use them (line {number} comes first)")
            heading = HEADING.match(raw)
            if heading:
                section = heading.group(2)
            continue
        if fence and not fence.group(1):
            in_block = None
            if declared:
                _check_used(declared, declared_at, out[block_start:])
            declared = {}
            continue
        if in_block not in SHELL_BLOCKS:
            continue
        if not pending:
            if not stripped:
                comment = ""
                continue
            if stripped.startswith("#"):
                comment = stripped.lstrip("# ").strip()
                continue
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        text = (pending + stripped).strip()
        pending = ""
        out.append(GuideCommand(text, start, section, comment, tuple(declared.items())))
        comment = ""  # a comment describes the one command below it
    if note:
        raise GuideError(f"line {note[0]}: the placeholders comment is not closed with -->")
    return out


def _check_used(declared: dict[str, Meaning], line: int, block: list[GuideCommand]) -> None:
    used = {name for cmd in block for name in cmd.placeholders}
    unused = sorted(set(declared) - used)
    if unused:
        raise GuideError(f"line {line}: declares {', '.join(f'<{n}>' for n in unused)}, which no command of the "
                         f"block below uses")


def read(path: Path) -> list[GuideCommand]:
    try:
        return commands(path.read_text(encoding="utf-8"))
    except GuideError as exc:
        raise GuideError(f"{path}: {exc}") from None


def fill(cmd: GuideCommand, lookup: Callable[[str, GuideCommand], str]) -> str:
    """The command with every `<name>` placeholder replaced by lookup(name, cmd)."""
    return PLACEHOLDER.sub(lambda m: lookup(m.group(1), cmd), cmd.text)
