"""BoundedMemo, the one policy of the process-wide memos in cards.facts: bounded under a stream of new keys from a
hostile sender, an entry in use never dropped, failures and large keys never kept."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cards.facts.analytes import ANALYTES, CONCEPTS
from cards.facts.conditions import MATCHES
from cards.facts.memo import BoundedMemo
from cards.facts.validation import SHARED_KEY_MAX, SHARED_MEMO_MAX, VALIDATED


def _counting(**limits: int) -> tuple[BoundedMemo[str, int], list[str]]:
    computed: list[str] = []

    def compute(key: str) -> int:
        computed.append(key)
        return len(key)

    return BoundedMemo(compute, **limits), computed


def test_each_key_is_computed_once_while_kept() -> None:
    memo, computed = _counting(max_entries=8)
    assert [memo["a"], memo["bb"], memo["a"], memo["bb"]] == [1, 2, 1, 2]
    assert computed == ["a", "bb"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=4), max_size=300), st.integers(2, 40))
def test_never_more_than_max_entries_and_always_the_right_value(keys: list[str], max_entries: int) -> None:
    memo, _ = _counting(max_entries=max_entries)
    for key in keys:
        assert memo[key] == len(key)
        assert memo.entries() <= max_entries


def test_an_entry_in_use_outlives_a_stream_of_new_keys() -> None:
    """The potassium code every request reads is never the one dropped, however many new values pass."""
    memo, computed = _counting(max_entries=6)
    for i in range(1000):
        memo["potassium"]
        memo[f"new value {i}"]
    assert computed.count("potassium") == 1 and memo.kept("potassium")
    assert memo.entries() <= 6 and not memo.kept("new value 0")


def test_a_failure_is_not_kept() -> None:
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        raise ValueError(key)

    memo: BoundedMemo[str, int] = BoundedMemo(compute, max_entries=4)
    for _ in range(3):
        with pytest.raises(ValueError):
            memo["bad"]
    assert calls == ["bad"] * 3 and not memo.entries()


def test_a_key_larger_than_max_key_size_is_computed_but_not_kept() -> None:
    computed: list[str] = []

    def compute(key: str) -> int:
        computed.append(key)
        return len(key)

    memo: BoundedMemo[str, int] = BoundedMemo(compute, max_entries=4, key_size=len, max_key_size=3)
    assert [memo["abcd"], memo["abcd"], memo["abc"], memo["abc"]] == [4, 4, 3, 3]
    assert computed == ["abcd", "abcd", "abc"] and not memo.kept("abcd")


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        BoundedMemo(len, max_entries=1)  # two generations
    with pytest.raises(ValueError):
        BoundedMemo(len, max_entries=4, max_key_size=3)  # a size limit needs a way to size the key


def test_an_unhashable_key_raises_type_error_as_a_dict_does() -> None:
    memo, computed = _counting(max_entries=4)
    with pytest.raises(TypeError):
        memo[["not", "hashable"]]  # type: ignore[index]
    assert not computed


def test_the_memos_of_cards_facts_have_their_documented_limits() -> None:
    assert VALIDATED.max_entries == SHARED_MEMO_MAX == 2048
    assert CONCEPTS.max_entries == MATCHES.max_entries == 8192
    assert ANALYTES.max_entries == 50_000
    assert SHARED_KEY_MAX == 2048
