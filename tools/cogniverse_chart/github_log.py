"""The `-o github` log: GitHub Actions reads any output line that starts with `::` (or holds `##[`) as a
workflow command. Every line a run prints passes github_plain, except the annotations the tool builds itself
(github_command), so a file name, a chart or Helm's message cannot inject a command (docs/toolkit-ci.md)."""

from __future__ import annotations

from typing import Any, TextIO


def github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def github_plain(line: str) -> str:
    """A line of plain log text in a `-o github` run, made into nothing an Actions runner reads as a
    workflow command: a CR (which ends a line for the runner) is escaped, a `::` at its start (after
    blanks) becomes `%3A%3A`, and the legacy `##[` (looked for anywhere in a line) becomes `##%5B`."""
    line = line.replace("\r", "%0D").replace("##[", "##%5B")
    rest = line.lstrip()
    return line[: len(line) - len(rest)] + "%3A%3A" + rest[2:] if rest.startswith("::") else line


class GithubLog:
    """sys.stdout and sys.stderr of a `-o github` run: every line passes github_plain, except the workflow
    commands the tool builds itself (`command`), so a file name, a chart or Helm's message cannot inject one."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self._line = stream, ""

    def write(self, text: str) -> int:
        *done, self._line = (self._line + text).split("\n")
        for line in done:
            self.stream.write(github_plain(line) + "\n")
        return len(text)

    def command(self, line: str) -> None:
        if self._line:  # a command starts a line of its own
            self.write("\n")
        self.stream.write(line + "\n")

    def finish(self) -> TextIO:
        """Write a last unterminated line; return the wrapped stream."""
        try:
            if self._line:
                self.stream.write(github_plain(self._line))
            self.stream.flush()
        except (OSError, ValueError):  # closed (a reader that went away)
            pass
        self._line = ""
        return self.stream

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding...
        return getattr(self.stream, name)


def github_command(line: str, out: TextIO) -> None:
    if isinstance(out, GithubLog):
        out.command(line)
    else:
        print(line, file=out)
