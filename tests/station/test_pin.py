"""station/pin.py: salted scrypt admin PIN hashes."""
from __future__ import annotations

import pytest

from station.config import load_config, parse_config
from station.pin import hash_pin, verify_pin
from station_testlib import DEMO


def test_a_hashed_pin_verifies_and_a_wrong_one_does_not():
    stored = hash_pin("4821")
    assert verify_pin("4821", stored)
    for wrong in ("4822", "482", "48210", "", "1284"):
        assert not verify_pin(wrong, stored)


def test_hashes_are_salted_and_never_contain_the_pin():
    a, b = hash_pin("123456"), hash_pin("123456")
    assert a != b and verify_pin("123456", a) and verify_pin("123456", b)
    assert "123456" not in a
    scheme, n, r, p, salt, digest = a.split("$")
    assert (scheme, int(n), len(salt), len(digest)) == ("scrypt", 2 ** 14, 32, 64)


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "", " 1234", "１２３４",
                                 "123²"])
def test_only_4_to_12_ascii_digits_are_accepted(pin):
    with pytest.raises(ValueError, match="4 to 12 digits"):
        hash_pin(pin)


@pytest.mark.parametrize("stored", ["", "1234", "scrypt$16384$8$1$zz$00", "bcrypt$1$2$3$4$5",
                                    "scrypt$x$8$1$00$00", "scrypt$16384$8$1$00",
                                    "scrypt$16384$8$1$00$00$00"])
def test_a_malformed_hash_never_verifies_and_never_raises(stored):
    assert verify_pin("1234", stored) is False


def test_a_hash_is_accepted_by_the_config_schema(tmp_path):
    stored = hash_pin("987654")
    config = parse_config({"station": {"org": "a", "store": "b", "id": "c"},
                           "database": {"path": "s.db"}, "kiosk": {"admin_pin_hash": stored}},
                          base_dir=tmp_path)
    assert verify_pin("987654", config.kiosk.admin_pin_hash)


def test_the_demo_config_pin_is_1234():
    assert verify_pin("1234", load_config(DEMO).kiosk.admin_pin_hash)
