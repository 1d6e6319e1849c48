"""The one masking function and the data cipher (hall/pii.py, hall/crypto.py)."""

import pytest

from hall.crypto import DataCipher, KeyError_, new_key
from hall.pii import mask, mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize("raw, shown", [
    ("13812345678", "138****5678"),
    ("+8613812345678", "+86*******5678"),
    ("8571234", "*****34"),  # a 7-digit landline never shows more than two digits
    ("12345", "*****"),
    ("", ""),
    (None, ""),
])
def test_phone(raw, shown):
    assert mask_phone(raw) == shown
    assert mask(raw, "phone") == shown


@pytest.mark.parametrize("raw, shown", [
    ("11010519491231002X", "1101**********002X"),
    ("110105491231002", "1101*******1002"),
    ("E12345678", "******678"),
    ("123", "***"),
])
def test_id_number(raw, shown):
    assert mask_id_number(raw) == shown


@pytest.mark.parametrize("raw, shown", [
    ("张三", "张*"), ("张三丰", "张*丰"), ("欧阳娜娜", "欧**娜"), ("李", "李"), ("Li Lei", "L* L**"),
])
def test_name(raw, shown):
    assert mask_name(raw) == shown


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError):
        mask("x", "email")  # type: ignore[arg-type]


def test_cipher_round_trip_and_wrong_key():
    c = DataCipher(new_key())
    token = c.encrypt_text("13812345678")
    assert b"13812345678" not in token
    assert c.decrypt_text(token) == "13812345678"
    assert c.decrypt_json(c.encrypt_json({"name": "张三"})) == {"name": "张三"}
    other = DataCipher(new_key())
    with pytest.raises(KeyError_):
        other.decrypt(token)


def test_lookup_hash_is_keyed_and_stable():
    k = new_key()
    a, b = DataCipher(k), DataCipher(k)
    assert a.lookup_hash("11010519491231002x") == b.lookup_hash("11010519491231002X")
    assert DataCipher(new_key()).lookup_hash("11010519491231002X") != a.lookup_hash("11010519491231002X")
    assert "1101" not in a.lookup_hash("11010519491231002X")
