"""The Dockerfile's instructions and the .dockerignore's rules, read the way Docker reads them."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, ENV, ...
    arguments: str


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]  # relative to the build context
    destination: str
    from_stage: str | None  # COPY --from=<stage> copies from an earlier stage, not the context


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order, continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions from the last FROM on: what the image that runs is made of."""
    starts = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    return instructions[starts[-1] :]


def copies(instructions: list[Instruction]) -> list[Copy]:
    found = []
    for instruction in instructions:
        if instruction.keyword not in {"COPY", "ADD"}:
            continue
        flags, paths = _flags_and_paths(instruction.arguments)
        found.append(Copy(tuple(paths[:-1]), paths[-1], flags.get("from")))
    return found


def environment(instructions: list[Instruction]) -> dict[str, str]:
    """What ENV sets, later instructions winning (only the `ENV NAME=value ...` form)."""
    env: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for word in shlex.split(instruction.arguments):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def workdir(instructions: list[Instruction]) -> PurePosixPath:
    path = PurePosixPath("/")
    for instruction in instructions:
        if instruction.keyword == "WORKDIR":
            path = path / instruction.arguments
    return path


def _flags_and_paths(arguments: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(arguments)
    flags = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name] = value
    rest = " ".join(words)
    paths: list[str] = json.loads(rest) if rest.startswith("[") else words
    return flags, paths


class DockerIgnore:
    """The rules of a .dockerignore: the last pattern matching a path or a parent of it wins."""

    def __init__(self, text: str) -> None:
        self._rules: list[tuple[re.Pattern[str], bool]] = []
        for line in text.splitlines():
            pattern = line.strip()
            if not pattern or pattern.startswith("#"):
                continue
            include = pattern.startswith("!")
            pattern = str(PurePosixPath(pattern.removeprefix("!").strip().lstrip("/")))
            self._rules.append((re.compile(_pattern_regex(pattern)), include))

    def excludes(self, path: str) -> bool:
        parts = PurePosixPath(path).parts
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        excluded = False
        for regex, include in self._rules:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                excluded = not include
        return excluded


def _pattern_regex(pattern: str) -> str:
    """Go filepath.Match syntax plus `**` (any number of folders), as Docker extends it."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i + 1)
            regex, i = regex + pattern[i : end + 1], end + 1  # [a-z] and [^a-z] as in regex
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return regex
