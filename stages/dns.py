"""Host names the loaded rules compare address fields with (`fd.sip.name = "kubernetes.default.svc..."`), resolved
in the background, as libsinsp's DNS manager does: an event's `fd.sip.name` reads the compared name whose
addresses include the event's server address (null when none does).

The names are resolved by a thread of the capture process every REFRESH_S seconds; no event waits for a lookup,
so a name reads null until its first resolution is in."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Mapping

from rules import ast

# Each name field and the address field whose address it names.
NAME_FIELDS = {"fd.cip.name": "fd.cip", "fd.sip.name": "fd.sip", "fd.lip.name": "fd.lip", "fd.rip.name": "fd.rip"}
REFRESH_S = 10.0


def compared_names(conditions: Iterable[ast.Node]) -> frozenset[str]:
    """The constants the conditions compare a name field with (`=`, `in (...)`, ...)."""
    names: set[str] = set()
    for condition in conditions:
        for item in ast.walk(condition):
            if isinstance(item, ast.Check) and ast.operand_fields(item.lhs).text in NAME_FIELDS:
                if isinstance(item.rhs, ast.Const):
                    names.add(item.rhs.value)
                elif isinstance(item.rhs, ast.ValueList):
                    names.update(item.rhs.values)
    return frozenset(names)


class NameResolver:
    """Resolves `names` now and every REFRESH_S seconds in a thread; `by_address` maps each address found to the
    first name (in sorted order) that resolves to it."""

    def __init__(self, names: Iterable[str], resolve: Callable = socket.getaddrinfo) -> None:
        self.names = tuple(sorted(names))
        self._resolve = resolve
        self.by_address: Mapping[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="saker-dns", daemon=True)

    def start(self) -> "NameResolver":
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop refreshing. A lookup under way is not waited for: where no DNS server answers, getaddrinfo can
        block for seconds, and the thread (a daemon) must not hold up a stopping sensor or a replay's end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=0.1)

    def refresh(self) -> None:
        """One resolution of every name; a name that does not resolve (now) names no address."""
        table: dict[str, str] = {}
        for name in self.names:
            try:
                found = self._resolve(name, None)
            except (OSError, UnicodeError):
                continue
            for *_, sockaddr in found:
                table.setdefault(str(sockaddr[0]), name)
        self.by_address = table  # one reference swap: readers see the old table or the new one

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(REFRESH_S)
