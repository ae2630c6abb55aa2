"""Which port each part of the embedded stack takes: the one set for it, else the one it had
last time (so subscribers and clients find it again), else its default, else a free one."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from spotcheck.embedded import free_port
from spotcheck.stack.processes import choose_port, part_name, service_of, service_ports
from spotcheck.stack.stackfile import remember_ports, remembered_ports


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_the_port_it_had_last_time_wins_over_the_default() -> None:
    last, default = free_port(), free_port()
    notes: list[str] = []
    assert choose_port("NATS", default=default, remembered=last, explicit=None, notes=notes) == last
    assert not notes


def test_the_default_when_the_old_port_is_taken(taken: int) -> None:
    default = free_port()
    got = choose_port("NATS", default=default, remembered=taken, explicit=None, notes=[])
    assert got == default


def test_a_port_set_for_the_part_wins(taken: int) -> None:
    mine, last = free_port(), free_port()
    assert choose_port("draw", default=taken, remembered=last, explicit=mine, notes=[]) == mine


def test_a_free_port_when_all_are_taken_and_it_says_so(taken: int) -> None:
    notes: list[str] = []
    got = choose_port("NATS", default=taken, remembered=None, explicit=None, notes=notes)
    assert got != taken and notes == [f"port {taken} is taken: NATS uses {got}"]


def test_ports_are_remembered_in_var(tmp_path: Path) -> None:
    assert remembered_ports(tmp_path) == {}
    remember_ports(tmp_path, {"nats": 4333, "registry": 8101})
    assert remembered_ports(tmp_path) == {"nats": 4333, "registry": 8101}
    (tmp_path / "ports.json").write_text('{"nats": "x", "draw": 70000, "web": 8100}')
    assert remembered_ports(tmp_path) == {"web": 8100}


def test_copies_are_named_after_their_service() -> None:
    assert [part_name("draw", k) for k in (1, 2, 3)] == ["draw", "draw-2", "draw-3"]
    assert service_of("draw-2") == "draw"
    assert service_of("publisher-relay") == "publisher-relay"
    assert service_of("publisher-relay-3") == "publisher-relay"


def test_each_copy_of_a_service_has_its_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    first = free_port()
    monkeypatch.setenv("SPOTCHECK_DRAW_PORT", str(first))
    notes: list[str] = []
    services = service_ports(notes, remembered={"draw-3": free_port()}, copies=3)
    draw = services["draw"]
    assert [c["part"] for c in draw["copies"]] == ["draw", "draw-2", "draw-3"]
    ports = [c["port"] for c in draw["copies"]]
    assert ports[0] == first == draw["port"] and len(set(ports)) == 3
    # Copy 2 sits 100 above copy 1 unless that port is taken (then a free one, said so).
    assert ports[1] == first + 100 or any("draw-2" in n for n in notes)
    assert all(c["url"] == f"http://127.0.0.1:{c['port']}" for c in draw["copies"])
