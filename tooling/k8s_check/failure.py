"""The one error of the check: what is wrong, in words a person can act on."""

from __future__ import annotations


class CheckFailed(Exception):
    """The manifests, or the control plane the check needs, are not right; the message says why."""
