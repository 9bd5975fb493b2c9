"""The field catalog: every field class, registered once, and name resolution against it.

Adding a field class: write a module with a `FieldClass` table (see `rules/fields/user.py`, the smallest) and
add it to FIELD_CLASSES below. Nothing else needs to change; `run.py --list` reads the same tables.
"""

from __future__ import annotations

from rules.ast import FieldRef
from rules.fields import cloudtrail, container, evt, fd, fspath, github, group, k8saudit, okta, proc, user
from rules.fields.base import ArgKind, FieldClass, FieldInfo, FieldRegistry

# ----------------------------------------------------------------- add new field classes here
FIELD_CLASSES: tuple[FieldClass, ...] = (
    evt.EVT,
    proc.PROC,
    proc.THREAD,
    user.USER,
    group.GROUP,
    fd.FD,
    fd.FDLIST,
    fspath.FS_PATH,
    container.CONTAINER,
    container.K8S,
    *k8saudit.CLASSES,
    *cloudtrail.CLASSES,
    *github.CLASSES,
    *okta.CLASSES,
)


def build_registry(classes: tuple[FieldClass, ...] = FIELD_CLASSES) -> FieldRegistry:
    """A registry holding the given classes (tests build small ones)."""
    registry = FieldRegistry()
    for field_class in classes:
        registry.register(field_class)
    return registry


REGISTRY: FieldRegistry = build_registry()


def resolve(registry: FieldRegistry, source: str, ref: FieldRef) -> FieldInfo:
    """The catalog field `ref` names, with its argument checked; ConditionCompileError otherwise.

    `ref` may come straight from the parser (`FieldRef("evt.arg.flags")`) or already split
    (`FieldRef("evt.arg", "flags", dotted=True)`).
    """
    info, arg, dotted = _split(registry, source, ref)
    _check_argument(info, arg, dotted, ref)
    return info


def normalize_ref(registry: FieldRegistry, source: str, ref: FieldRef) -> FieldRef:
    """`ref` with a dotted argument split off (`evt.arg.flags` -> name `evt.arg`, arg `flags`); same `.text`."""
    info, arg, dotted = _split(registry, source, ref)
    _check_argument(info, arg, dotted, ref)
    if info.name == ref.name:
        return ref
    return FieldRef(info.name, arg, dotted, ref.pos)


def field_catalog_rows(source: str | None = None,
                       registry: FieldRegistry = REGISTRY) -> list[tuple[str, str, str, str, str]]:
    """Rows (name, type, flags, description, source) for `run.py --list [SOURCE]`, in table order."""
    return [
        (info.name, info.type.value, flag_words(info), info.description, info.source)
        for field_class in registry.classes(source)
        for info in field_class.fields
    ]


def flag_words(info: FieldInfo) -> str:
    """The catalog's flag words for a field (`arg? list FO no-rhs`...), blank-separated."""
    words = []
    if info.arg is ArgKind.REQUIRED:
        words.append("arg")
    elif info.arg is ArgKind.OPTIONAL:
        words.append("arg?")
    for flag, word in ((info.is_list, "list"), (info.filter_only, "FO"), (info.print_only, "PO"),
                       (info.deprecated, "dep"), (info.no_rhs, "no-rhs"), (info.no_transformer, "no-tr")):
        if flag:
            words.append(word)
    return " ".join(words)


def _compile_error(message: str, ref: FieldRef) -> Exception:
    # Imported here: the checker imports this package, and the error type belongs to the checker's contract.
    from rules.checker import ConditionCompileError

    return ConditionCompileError(message, ref.pos)


def _split(registry: FieldRegistry, source: str, ref: FieldRef) -> tuple[FieldInfo, str | None, bool]:
    """Find the catalog field: exact name first, then the longest prefix taking a dotted argument."""
    info = registry.get(source, ref.name)
    if info is not None:
        return info, ref.arg, ref.dotted
    if ref.arg is None:
        found = registry.resolve_dotted(source, ref.name)
        if found is not None and found[1]:
            return found[0], found[1], True
    raise _compile_error(f"filter_check called with nonexistent field {ref.name}", ref)


def _check_argument(info: FieldInfo, arg: str | None, dotted: bool, ref: FieldRef) -> None:
    """Argument presence and form against the field's table row."""
    if arg is None:
        if info.arg is ArgKind.REQUIRED:
            raise _compile_error(f"field '{info.name}' requires an argument", ref)
        return
    if info.arg is ArgKind.NONE:
        raise _compile_error(f"field '{info.name}' does not take an argument", ref)
    if dotted:
        if not info.arg_dotted:
            raise _compile_error(f"filter_check called with nonexistent field {ref.text}", ref)
        return
    if not (info.arg_index or info.arg_key):
        raise _compile_error(f"field '{info.name}' takes its argument after a dot ({info.name}.NAME)", ref)
    if not info.arg_key and not (arg.isascii() and arg.isdigit()):
        raise _compile_error(f"invalid argument '{arg}' for field '{info.name}': expected a number", ref)
