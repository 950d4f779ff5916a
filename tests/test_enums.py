"""Open string enums: compare equal to wire strings and keep values the docs do not list."""

from __future__ import annotations

import pickle

import pytest

import wegly_async as wa


def test_members_compare_equal_to_their_wire_strings() -> None:
    assert wa.MessageType.TEXT == "text"
    assert wa.EventType.MESSAGE == "MESSAGE"
    assert f"{wa.MessageOrigin.INBOUND}" == "INBOUND"


def test_unknown_values_are_kept_and_cached() -> None:
    sticker = wa.MessageType("sticker")
    assert sticker == "sticker"
    assert sticker.value == "sticker"
    assert isinstance(sticker, wa.MessageType)
    assert wa.MessageType("sticker") is sticker
    assert not sticker.is_known
    assert wa.MessageType.TEXT.is_known
    assert "sticker" not in [member.value for member in wa.MessageType]


def test_known_values_return_the_member() -> None:
    assert wa.MessageType("text") is wa.MessageType.TEXT


def test_non_strings_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a valid"):
        wa.MessageType(3)  # type: ignore[arg-type]


def test_members_pickle_by_value() -> None:
    assert pickle.loads(pickle.dumps(wa.MessageStatus.PROCESSING)) is wa.MessageStatus.PROCESSING


def test_order_is_closed() -> None:
    assert wa.Order("desc") is wa.Order.DESC
    with pytest.raises(ValueError, match="sideways"):
        wa.Order("sideways")
