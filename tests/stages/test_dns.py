"""Host names compared with fd.*.name fields, and their background resolution."""

from __future__ import annotations

import socket
import threading
import time

from rules.parser import parse_condition
from stages.dns import NameResolver, compared_names
from tests.conftest import STABLE_RULES


def test_the_names_rules_compare_name_fields_with() -> None:
    conditions = [parse_condition('fd.sip.name = "api.example" and proc.name = curl'),
                  parse_condition("fd.rip.name in (a.example, b.example) or fd.name = other"),
                  parse_condition('fd.sip = "10.0.0.1"')]
    assert compared_names(conditions) == {"api.example", "a.example", "b.example"}


def test_the_stable_rules_compare_the_kubernetes_api_name() -> None:
    from rules.loader import load_rules

    rules = [rule for rule in load_rules([str(STABLE_RULES)]).rules if rule.enabled]
    assert compared_names(rule.condition for rule in rules) == {"kubernetes.default.svc.cluster.local"}


def test_a_refresh_maps_each_address_to_the_first_name_resolving_to_it() -> None:
    answers = {"b.example": ["10.0.0.2", "10.0.0.3"], "a.example": ["10.0.0.3", "fd00::1"]}

    def resolve(name, port):
        if name not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in
                answers[name]]

    resolver = NameResolver(["b.example", "a.example", "gone.example"], resolve=resolve)
    assert resolver.by_address == {}  # nothing before the first resolution
    resolver.refresh()
    assert resolver.by_address == {"10.0.0.3": "a.example", "fd00::1": "a.example", "10.0.0.2": "b.example"}
    answers["b.example"] = []  # a name that stops resolving names nothing after the next refresh
    resolver.refresh()
    assert resolver.by_address == {"10.0.0.3": "a.example", "fd00::1": "a.example"}


def test_the_thread_resolves_at_once_and_stops() -> None:
    resolver = NameResolver(["localhost"]).start()
    try:
        deadline = time.monotonic() + 10
        while not resolver.by_address and time.monotonic() < deadline:
            time.sleep(0.01)
        assert resolver.by_address.get("127.0.0.1") == "localhost"
    finally:
        resolver.close()
    assert not resolver._thread.is_alive()


def test_close_does_not_wait_for_a_lookup_under_way() -> None:
    """Where no DNS server answers a lookup blocks; closing the resolver leaves that lookup to finish alone."""
    entered, release = threading.Event(), threading.Event()

    def resolve(name, port):
        entered.set()
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "no answer")

    resolver = NameResolver(["slow.example"], resolve=resolve).start()
    assert entered.wait(10)
    resolver.close()
    assert resolver._thread.is_alive()  # still in its lookup: close returned without it
    release.set()
    resolver._thread.join(10)
    assert not resolver._thread.is_alive() and resolver.by_address == {}
