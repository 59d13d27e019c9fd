"""A guide's shell commands, read from its Markdown: one logical line of a ```bash block each
(comment lines dropped, lines ending in `\\` joined), and `<name>` placeholders filled by a lookup."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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


def commands(markdown: str) -> list[GuideCommand]:
    """Every command of the shell code blocks of a Markdown text, in order."""
    out: list[GuideCommand] = []
    section = ""
    in_block: str | None = None
    pending = ""
    start = 0
    comment = ""
    for number, raw in enumerate(markdown.splitlines(), 1):
        stripped = raw.strip()
        fence = FENCE.match(stripped)
        if in_block is None:
            if fence:
                in_block = fence.group(1) or "text"
                comment = ""
                continue
            heading = HEADING.match(raw)
            if heading:
                section = heading.group(2)
            continue
        if fence and not fence.group(1):
            in_block = None
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
        out.append(GuideCommand(text, start, section, comment))
        comment = ""  # a comment describes the one command below it
    return out


def read(path: Path) -> list[GuideCommand]:
    return commands(path.read_text(encoding="utf-8"))


def fill(cmd: GuideCommand, lookup: Callable[[str, GuideCommand], str]) -> str:
    """The command with every `<name>` placeholder replaced by lookup(name, cmd)."""
    return PLACEHOLDER.sub(lambda m: lookup(m.group(1), cmd), cmd.text)
