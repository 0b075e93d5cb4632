"""YAML loading that remembers where each value came from, for ``file:line`` error messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a content or config file."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class LineDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # the C parser when available
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark
            )
        key = str(key)
        if key in out:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay strings ("2024-02-20"), so validation sees what the file says.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_text(path: Path, problems: list[Problem], shown: str | None = None) -> str | None:
    """Read a UTF-8 file; a bad encoding is reported with the line where it happens."""
    shown = shown or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(shown, 0, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(Problem(shown, line, f"not valid UTF-8 (byte {exc.start}): save the file as UTF-8"))
        return None
    return text.removeprefix("\ufeff")


def load_yaml(path: Path, problems: list[Problem], shown: str | None = None) -> Any:
    """Parse a YAML file into LineDict/LineList values; syntax errors become Problems."""
    shown = shown or str(path)
    text = read_text(path, problems, shown)
    if text is None:
        return None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{exc.context}: {what}"
        if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            what += f" (it started at line {exc.context_mark.line + 1})"
        problems.append(Problem(shown, line, f"YAML syntax: {what}"))
    except yaml.YAMLError as exc:
        problems.append(Problem(shown, 0, f"YAML: {exc}"))
    return None


def check_keys(
    obj: LineDict,
    required: set[str],
    optional: set[str],
    shown: str,
    problems: list[Problem],
    what: str,
) -> bool:
    """Report missing and unknown keys. Returns False when a required key is missing."""
    ok = True
    for key in sorted(required - obj.keys()):
        problems.append(Problem(shown, obj.line, f"{what}: missing key {key!r}"))
        ok = False
    for key in obj.keys() - required - optional:
        allowed = ", ".join(sorted(required | optional))
        problems.append(Problem(shown, obj.line_of(key), f"{what}: unknown key {key!r} (allowed: {allowed})"))
    return ok
