"""What every test session needs: the processes tests start import the repository as pytest does.

pyproject.toml's `pythonpath` puts the repository and `generated/` on pytest's own import path,
but not on a child's: a service, the launcher or `python -m tooling.chaos` started by a test
would not find `simplebank` or `mesh` when pytest runs without the Makefile's PYTHONPATH.
"""

from __future__ import annotations

import os

from tests.support import REPO_ROOT

_PATHS = [str(REPO_ROOT), str(REPO_ROOT / "generated")]
_OTHERS = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in _PATHS]
os.environ["PYTHONPATH"] = os.pathsep.join(_PATHS + _OTHERS)
