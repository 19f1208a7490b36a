"""config.yaml as text → data and the line of every key, fast, with faults in Chinese.

Every command reads the config, so parsing is on the start-up path of `status`, `review`
and `messages`: libyaml (PyYAML's C parser) composes the file in ~10 ms where ruamel's
pure-Python round-trip loader took ~250 ms. The composed node tree keeps each key's line,
which is all the error messages need. Scalars resolve as in YAML 1.2 (what ruamel did):
only true/false are booleans, 18:00 stays text rather than YAML 1.1's base-60 number
1080, 010 is ten; a key written twice is an error instead of silently keeping the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml import MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class _Loader(yaml.CSafeLoader):
    """The safe loader with YAML 1.2 core-schema booleans, integers and floats."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in rules if not tag.endswith((":bool", ":int", ":float"))]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _int(loader: _Loader, node: ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    base = 8 if text.startswith("0o") else 16 if text.startswith("0x") else 10
    return int(text[2:] if base != 10 else text, base)


_Loader.add_constructor("tag:yaml.org,2002:int", _int)

__all__ = ["MarkedYAMLError", "Parsed", "parse"]


@dataclass(frozen=True)
class Parsed:
    data: Any
    root: Node | None


def parse(text: str) -> Parsed:
    """Raise MarkedYAMLError for a syntax fault, DuplicateKey for a key written twice."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _no_duplicates(root)
        return Parsed(loader.construct_document(root) if root is not None else None, root)
    finally:
        loader.dispose()


class DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


def _no_duplicates(node: Node) -> None:
    if isinstance(node, MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else id(key)
            if name in seen:
                raise DuplicateKey(str(name), key.start_mark.line + 1, seen[name])
            seen[name] = key.start_mark.line + 1
            _no_duplicates(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _no_duplicates(item)


def line_of(root: Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest key (or list item) of `loc` present in the file."""
    node, line = root, None
    for key in loc:
        found = None
        if isinstance(node, MappingNode):
            found = next((pair for pair in node.value if pair[0].value == key), None)
            if found is not None:
                line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line, found = node.start_mark.line + 1, (node, node)
        if found is None:
            break
    return line


# ── faults in Chinese ──────────────────────────────────────────
_FULL_WIDTH_KEY = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*：")
# A value that opens a quote: `key: "…`, `- '…`. Hand-written configs never continue a
# quoted value onto the next line, so a quote left open at the line's end is a mistake.
_QUOTED_VALUE = re.compile(r"^\s*(?:-\s+)?(?:[\w.-]+:\s+)?([\"'])(.*)$")
# the parser's problem → what it usually means in a hand-edited config
_PROBLEMS = [
    ("cannot start any token", "这一行有 YAML 不接受的字符（例如制表符或反引号）"),
    ("could not find expected ':'", "缺少半角冒号“:”，或上一行的引号没有闭合"),
    (
        "mapping values are not allowed",
        "此处不能再写“键: 值”：可能是缩进不对，或值里含有冒号而未加引号",
    ),
    ("expected <block end>", "缩进不一致：同一层的键须对齐（用空格，不用制表符）"),
    ("expected ',' or ']'", "方括号列表 [...] 没有闭合，或其中缺少逗号"),
    ("expected ',' or '}'", "花括号 {...} 没有闭合，或其中缺少逗号"),
    ("did not find expected node content", "缺少取值，或方括号、花括号没有闭合"),
    ("found undefined alias", "“*”开头的值须加引号"),
    ("found unexpected end of stream", "文件在引号或括号闭合之前就结束了"),
]


def text_faults(path: Path, text: str) -> list[str]:
    """Faults a person types and YAML reports far away or obscurely: 全角冒号 after a key,
    a tab in the indentation, an unclosed quote. Found line by line, before parsing."""
    faults = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FULL_WIDTH_KEY.match(line.split("#", 1)[0])
        if match:
            faults.append(
                f"{path} 第 {number} 行：键 {match.group(1)} 后面是全角冒号“：”。"
                "请改为半角冒号“:”，冒号后留一个空格。"
            )
        quoted = _QUOTED_VALUE.match(line)
        if quoted and not _closes(quoted.group(1), quoted.group(2)):
            faults.append(
                f"{path} 第 {number} 行：未闭合的引号——引号 {quoted.group(1)} 在这一行没有配对。"
                "请补上另一半引号，或去掉引号。"
            )
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            faults.append(
                f"{path} 第 {number} 行：缩进里有制表符（Tab）。"
                "YAML 只接受空格缩进，请把 Tab 换成空格。"
            )
    return faults


def _closes(quote: str, rest: str) -> bool:
    if quote == "'":
        return "'" in rest.replace("''", "")
    return re.search(r'(?<!\\)"', rest) is not None


def syntax_fault(path: Path, exc: MarkedYAMLError | DuplicateKey) -> str:
    if isinstance(exc, DuplicateKey):
        return (
            f"{path} 第 {exc.line} 行：键 {exc.key} 写了两次（第一次在第 {exc.first} 行）。"
            "请删去其中一处。"
        )
    problem, mark = str(exc.problem or ""), exc.problem_mark
    if "quoted scalar" in str(exc.context or "") and exc.context_mark is not None:
        return (
            f"{path} 第 {exc.context_mark.line + 1} 行：未闭合的引号——这里开始的引号没有配对。"
            "请补上另一半引号，或去掉引号。"
        )
    meaning = next((zh for en, zh in _PROBLEMS if en in problem), "格式不对")
    where = f"第 {mark.line + 1} 行" if mark is not None else "某处"
    return f"{path} {where}：YAML 格式错误，{meaning}。请检查这一行和上一行的缩进、冒号和引号。"
