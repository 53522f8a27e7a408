"""The mesh's log schema (mesh/logs.py) as a check: every line a service wrote, one problem each."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mesh.logs import FIELDS, LEVELS

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")
HEX = {"trace_id": re.compile(r"[0-9a-f]{32}"), "span_id": re.compile(r"[0-9a-f]{16}")}
EXTRA_NAME = re.compile(r"[a-z][a-z0-9_]*")
REQUIRED = FIELDS[:5]  # time, level, service, logger, message, in this order


def line_problem(text: str, service: str) -> str | None:
    """What is wrong with one line `service` wrote, or None if it follows the schema."""
    try:
        line = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not JSON ({error.msg})"
    if not isinstance(line, dict):
        return "not a JSON object"
    if tuple(line)[: len(REQUIRED)] != REQUIRED:
        return f"starts with {tuple(line)[: len(REQUIRED)]}, not {REQUIRED}"
    if not isinstance(line["time"], str) or not TIME.fullmatch(line["time"]):
        return f"time {line['time']!r} is not UTC ISO 8601 with milliseconds"
    if line["level"] not in LEVELS:
        return f"level {line['level']!r} is not one of {LEVELS}"
    if line["service"] != service:
        return f"service {line['service']!r} in {service}'s log"
    if not line["logger"] or not all(isinstance(line[key], str) for key in ("logger", "message")):
        return "logger and message must be strings, logger not empty"
    if ("trace_id" in line) != ("span_id" in line):
        return "trace_id and span_id come together"
    for key, pattern in HEX.items():
        if key in line and not (isinstance(line[key], str) and pattern.fullmatch(line[key])):
            return f"{key} {line[key]!r} is not {pattern.pattern}"
    extras = [key for key in line if key not in FIELDS]
    misnamed = [key for key in extras if not EXTRA_NAME.fullmatch(key)]
    if misnamed:
        return f"extra fields not named in snake_case: {misnamed}"
    if "exception" in line and not isinstance(line["exception"], str):
        return "exception is not a string"
    return None


def file_problems(path: Path, service: str) -> list[str]:
    """`path:number: problem` for each bad line of one service's log file."""
    problems = []
    for number, text in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        problem = line_problem(text, service)
        if problem is not None:
            problems.append(f"{path}:{number}: {problem}: {text[:200]}")
    return problems
