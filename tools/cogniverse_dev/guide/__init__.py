"""The guide runner: a Markdown guide's shell commands, checked without a cluster and run on one.

A maintainer's tool (it is not in the installed package): the fast tests check that every parameter a
guide passes to `argo submit` is declared and every argo flag exists; the smoke suite runs every command
of docs/guide.md on the node; `python -m cogniverse_dev.guide list|run GUIDE.md` does the same by hand.

- markdown.py   the commands of a guide, their placeholders and declarations, and filling them
- meaning.py    what a guide declares a placeholder means (docs/guide.md: a comment above each block)
- checks.py     argo submit parameters and argo CLI flags, without a cluster
- lookup.py     what a placeholder names on the cluster
- runner.py     running the commands in order, and what must not run here
- workspace.py  the working directory and PATH a run uses
"""

from .checks import (Submission, argo_flags, argo_module_dir, argo_usage, check_submissions, submissions,
                     unknown_argo_flags)
from .lookup import Lookup, guide_meanings
from .markdown import GuideCommand, GuideError, commands, fill, read
from .meaning import Meaning
from .runner import CommandResult, classify, run, summary
from .workspace import argo_cache, environment, find_argo, workdir

__all__ = ["CommandResult", "GuideCommand", "GuideError", "Lookup", "Meaning", "guide_meanings", "Submission", "argo_cache", "argo_flags", "argo_module_dir",
           "argo_usage", "check_submissions", "classify", "commands", "environment", "fill", "find_argo", "read",
           "run", "submissions", "summary", "unknown_argo_flags", "workdir"]
