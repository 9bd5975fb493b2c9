"""Filter a capture like `sysdig -r FILE [-p FORMAT] FILTER`: count or print the matching events of a .scap file or
of a Saker Arrow capture (a file or a folder), whichever `--replay` takes.

Visibility follows sysdig 0.29.3: internal events (procinfo, sysdigevent; `evt.is_internal`) are hidden, and
so are `container` events that come before the first non-container event of the file (sysdig consumes
them while opening the capture). Filters are parsed with `rules.parser`, compiled with the vectorized
`rules.compiler` and evaluated on enriched batches; only the fields the filters and the format need are
computed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

import numpy as np
import pyarrow as pa

from rules import ast
from rules.compiler import compile_condition
from rules.fields import REGISTRY, normalize_ref
from rules.parser import parse_condition
from stages.dns import NameResolver, compared_names
from stages.sources import learn_container_updates, open_replay, starting_state
from stages.state.paramtext import buffer_text

BATCH_SIZE = 65536
_FORMAT_FIELD = re.compile(r"%(\*?)([a-zA-Z_][a-zA-Z0-9_.]*(?:\[[^\]]*\])?)")


def _visible(batch: pa.RecordBatch, leading: list[bool]) -> np.ndarray:
    """Rows sysdig prints: not internal, and not one of the container events opening the file."""
    internal = batch.column("evt.is_internal").to_numpy(zero_copy_only=False)
    types = batch.column("evt.type").to_pylist() if leading[0] else None
    visible = ~internal
    if leading[0]:
        for row, name in enumerate(types):
            if name != "container":
                leading[0] = False
                break
            visible[row] = False
    return visible


def _batches(path: str, fields: set[str], nodes: list[ast.Node]) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    opened = open_replay(path, BATCH_SIZE)
    enricher = starting_state(opened.start)
    names = compared_names(nodes)
    if names:  # fd.sip.name = "host": resolved once, before the first event (`stages.dns`)
        resolver = NameResolver(names)
        resolver.refresh()
        enricher.address_names = resolver.by_address
    leading = [True]
    for raw in opened.batches:
        learn_container_updates(enricher, raw)
        yield enricher.enrich(raw, fields), _visible(raw, leading)


def _field_names(node: ast.Node) -> set[str]:
    names = set()
    for item in ast.walk(node):
        if isinstance(item, ast.Check):
            operands = [item.lhs] + ([item.rhs.operand] if isinstance(item.rhs, ast.FieldValue) else [])
            for operand in operands:
                names.add(ast.operand_fields(operand).text)
    return names


def count_filters(path: str, filters: list[str]) -> list[int | str]:
    """For each filter, how many visible events match (`<none>` or "" = all); "ERROR: ..." when it fails."""
    compiled: list[object] = []
    fields: set[str] = set()
    nodes: list[ast.Node] = []
    for text in filters:
        if text in ("", "<none>"):
            compiled.append(None)
            continue
        try:
            node = parse_condition(text)
            condition = compile_condition(node, registry=REGISTRY)
        except ValueError as exc:
            compiled.append(f"ERROR: {exc}")
            continue
        compiled.append(condition)
        nodes.append(node)
        fields |= _field_names(node)
    counts = [0 if not isinstance(c, str) else c for c in compiled]
    for batch, visible in _batches(path, fields, nodes):
        for i, condition in enumerate(compiled):
            if isinstance(condition, str):
                continue
            try:
                mask = visible if condition is None else visible & condition(batch)
            except (ValueError, TypeError, pa.ArrowException) as exc:
                counts[i] = compiled[i] = f"ERROR: {exc}"
                continue
            counts[i] += int(mask.sum())
    return counts


def _format_fields(fmt: str) -> tuple[bool, list[tuple[str, str]]]:
    """(print even with missing fields, [(token text as written, canonical field)])."""
    keep_all = fmt.startswith("*")
    tokens = []
    for match in _FORMAT_FIELD.finditer(fmt):
        text = match.group(2)
        try:
            ref = normalize_ref(REGISTRY, "syscall", ast.FieldRef(text))
        except ValueError:
            ref = ast.FieldRef(text)
        tokens.append((match.group(0), ref.text))
    return keep_all, tokens


def _text(value: object) -> str:
    if value is None:
        return "<NA>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bytes):  # a buffer (evt.buffer): its unprintable bytes as dots
        return buffer_text(value)
    return str(value)


def print_matches(path: str, filter_text: str, fmt: str, out: TextIO) -> int:
    """Print `fmt` (`%field` tokens) for each matching visible event, as `sysdig -p`; returns lines printed."""
    node = parse_condition(filter_text) if filter_text else None
    condition = compile_condition(node, registry=REGISTRY) if node is not None else None
    keep_all, tokens = _format_fields(fmt)
    fields = {canonical for _, canonical in tokens} | (_field_names(node) if node is not None else set())
    body = fmt[1:] if keep_all else fmt
    printed = 0
    for batch, visible in _batches(path, fields, [node] if node is not None else []):
        mask = visible if condition is None else visible & condition(batch)
        rows = np.flatnonzero(mask)
        columns = {canonical: (batch.column(canonical).take(pa.array(rows)).to_pylist()
                               if canonical in batch.schema.names else [None] * len(rows))
                   for _, canonical in tokens}
        for i in range(len(rows)):
            values = {canonical: columns[canonical][i] for _, canonical in tokens}
            if not keep_all and any(v is None for v in values.values()):
                continue
            line = body
            for written, canonical in tokens:
                line = line.replace(written, _text(values[canonical]), 1)
            out.write(line + "\n")
            printed += 1
    return printed
