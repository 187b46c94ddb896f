"""Fixtures: a real mosquitto per test and real cx-sync / cx-hq processes (see sync_testlib)."""
from __future__ import annotations

import pytest
from pathlib import Path

from sync_testlib import Broker, Service


@pytest.fixture
def broker_factory(tmp_path):
    brokers: list[Broker] = []

    def make(*, start: bool = True, name: str | None = None, **kwargs) -> Broker:
        b = Broker(tmp_path / (name or f"broker{len(brokers)}"), **kwargs)
        brokers.append(b)
        return b.start() if start else b

    yield make
    for b in brokers:
        b.kill()


@pytest.fixture
def broker(broker_factory) -> Broker:
    return broker_factory()


@pytest.fixture
def services(tmp_path):
    """Factory for cx-sync / cx-hq processes; every one is killed at teardown."""
    started: list[Service] = []

    def make(kind: str, config: Path, name: str | None = None) -> Service:
        module = {"sync": "sync", "hq": "hq"}[kind]
        svc = Service(module, config, tmp_path / f"{name or kind}{len(started)}.log")
        started.append(svc)
        return svc.start()

    yield make
    for svc in started:
        svc.kill()
