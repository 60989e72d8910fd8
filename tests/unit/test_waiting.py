"""`tests.support.waiting.wait_for`: what the integration tests rely on when they poll."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.waiting import wait_for


def answers(*outcomes: object) -> tuple[Callable[[], object], list[int]]:
    """A check giving `outcomes` in turn (an exception instance is raised); the call count."""
    calls = [0]

    def check() -> object:
        outcome = outcomes[min(calls[0], len(outcomes) - 1)]
        calls[0] += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return check, calls


def test_returns_the_first_truthy_value() -> None:
    check, calls = answers(None, [], "done")
    assert wait_for(check, 30, "the event") == "done"
    assert calls == [3]


def test_a_check_that_cannot_run_fails_at_once_not_as_a_timeout() -> None:
    for error in (TypeError("'NoneType' object is not subscriptable"), AssertionError("no")):
        check, calls = answers(error)
        with pytest.raises(type(error)):
            wait_for(check, 5, "the event", transient=(ConnectionError,))
        assert calls == [1]


def test_transient_errors_count_as_not_yet() -> None:
    check, calls = answers(ConnectionError("restarting"), ConnectionError("restarting"), 7)
    assert wait_for(check, 30, "the row", transient=(ConnectionError,)) == 7
    assert calls == [3]


def test_a_timeout_names_what_and_the_last_transient_error() -> None:
    check, _ = answers(ConnectionError("pg down"))
    with pytest.raises(AssertionError, match=r"the row did not happen within 0 s.*pg down") as err:
        wait_for(check, 0, "the row", transient=(ConnectionError,))
    assert isinstance(err.value.__cause__, ConnectionError)

    never, calls = answers(None)
    with pytest.raises(AssertionError, match=r"^the event did not happen within 0 s$"):
        wait_for(never, 0, "the event")
    assert calls == [1]  # a deadline already passed still gets one look
