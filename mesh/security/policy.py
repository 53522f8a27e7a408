"""Authorization as data: which identity may call which RPC, read from one policy file.

The policy (config/authz.json) maps an identity (the name in its SPIFFE id) to the methods it may
call, each `package.Service/Method` or `package.Service/*`; whatever it does not list is denied.
Standard library only, so `make lint` can read it too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "config" / "authz.json"


class PolicyError(ValueError):
    """The policy file cannot be read or does not say what a policy says."""


@dataclass(frozen=True)
class Policy:
    allow: Mapping[str, frozenset[str]]  # identity -> method patterns
    source: Path

    @classmethod
    def load(cls, path: Path) -> Policy:
        try:
            document = json.loads(path.read_text())
        except OSError as error:
            raise PolicyError(f"cannot read the policy file {path}: {error.strerror}") from None
        except ValueError as error:
            raise PolicyError(f"the policy file {path} is not JSON: {error}") from None
        allow = document.get("allow") if isinstance(document, dict) else None
        if not isinstance(allow, dict) or not all(
            isinstance(methods, list) and all(isinstance(m, str) and "/" in m for m in methods)
            for methods in allow.values()
        ):
            raise PolicyError(
                f"the policy file {path} must hold "
                '{"allow": {"<identity>": ["package.Service/Method" or "package.Service/*", ...]}}'
            )
        return cls({who: frozenset(methods) for who, methods in allow.items()}, path)

    def allows(self, caller: str, method: str) -> bool:
        """`method` is the gRPC path, /package.Service/Method."""
        patterns = self.allow.get(caller, frozenset())
        service, _, _ = method.lstrip("/").partition("/")
        return method.lstrip("/") in patterns or f"{service}/*" in patterns

    def callers_of(self, method: str) -> list[str]:
        """The identities allowed to call `method` (/package.Service/Method), sorted."""
        return sorted(who for who in self.allow if self.allows(who, method))
