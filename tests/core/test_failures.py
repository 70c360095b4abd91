"""A failure outside the desk is kept as a code and read as a sentence in the reader's language.

The exceptions are real: a connection to a port nobody listens on, the
platform errors the connectors raise, a desk error with a status label in
it. Nothing is read from exception text on the way to the page.
"""

from __future__ import annotations

import socket

import pytest

from aftersales.core import failures, i18n
from aftersales.core.errors import Conflict, Msgid
from aftersales.core.i18n import N_
from aftersales.core.outbox import PermanentFailure
from connectors.base import AuthFailed, BadPayload, PlatformError, Trouble, WriteRefused
from connectors.http import PlatformClient


def closed_port() -> int:
    """A port nobody listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def no_sleep(_: float) -> None:
    return None


async def unreachable_error(*, write: bool = False) -> PlatformError:
    client = PlatformClient(f"http://127.0.0.1:{closed_port()}", max_attempts=2, sleep=no_sleep)
    try:
        with pytest.raises(PlatformError) as caught:
            if write:
                await client.send_once("POST", "/refund")
            else:
                await client.request("GET", "/orders")
    finally:
        await client.aclose()
    return caught.value


def read(failure: failures.Failure, locale: str, platform: str | None = "taobao") -> str:
    with i18n.speaking(locale):
        return failures.sentence(failure.code, failure.params, platform)


@pytest.mark.parametrize("write", [False, True])
async def test_a_refused_connection_reads_could_not_reach_the_platform(write: bool) -> None:
    error = await unreachable_error(write=write)
    assert error.trouble is Trouble.CONNECTION_REFUSED
    failure = failures.of_exception(error)
    assert failure.code == "unreachable" and failure.retried
    assert read(failure, "en") == "Could not reach Taobao (connection refused)."
    assert read(failure, "zh_CN") == "无法连接淘宝（连接被拒绝）。"
    # The technical text keeps what the client saw, for a manager's details.
    assert "PlatformError" in failure.technical and "ConnectError" in failure.technical


def test_each_platform_failure_has_its_own_words() -> None:
    cases = {
        AuthFailed("GET /x refused the credentials (401)"): "auth",
        WriteRefused("isv.refund-closed", code="isv.refund-closed"): "write_refused",
        PlatformError("GET /x answered 503", status=503): "server_error",
        PlatformError("lost", trouble=Trouble.ANSWER_LOST): "answer_lost",
        PlatformError("isp.top-remote-error", code="isp.remote"): "platform_error",
        BadPayload("not an amount: 'abc'", record_id="T1"): "bad_record",
        TimeoutError(): "timeout",
        KeyError("refund_id"): "internal",
    }
    for exc, code in cases.items():
        failure = failures.of_exception(exc)
        assert failure.code == code, (exc, failure)
        english, chinese = read(failure, "en"), read(failure, "zh_CN")
        assert english and english[0].isupper() and "%(" not in english, english
        assert english != chinese and "Error" not in chinese, chinese
    auth = failures.of_exception(AuthFailed("refused"))
    assert read(auth, "en", platform=None).startswith(
        "The platform refused the store's credentials"
    )
    assert not auth.retried


def test_a_desk_error_is_read_in_the_readers_language_not_the_workers() -> None:
    # Raised in a worker speaking English, read by an agent speaking Chinese.
    error = PermanentFailure(
        N_("The refund is %(state)s now; the decision was not sent."), state=Msgid(N_("Cancelled"))
    )
    failure = failures.of_exception(error)
    assert failure.code == "desk"
    assert read(failure, "zh_CN") == "该退款当前为“已撤销”；处理结果未发送。"
    assert read(failure, "en") == "The refund is Cancelled now; the decision was not sent."
    assert failures.of_exception(Conflict()).params["msgid"] == Conflict.msgid


def test_a_desk_error_raised_from_a_platform_refusal_reads_as_the_refusal() -> None:
    try:
        try:
            raise WriteRefused("refund 9000 is CLOSED", code="closed")
        except WriteRefused as exc:
            raise PermanentFailure(N_("The platform refused the write.")) from exc
    except PermanentFailure as wrapped:
        failure = failures.of_exception(wrapped)
    assert failure.code == "write_refused"
    assert read(failure, "en") == "Taobao refused this write: trying again as it is will not help."
    assert "CLOSED" in failure.technical  # the platform's own reason, for the details


def test_an_old_row_without_a_code_reads_generic() -> None:
    assert read(failures.Failure(code=""), "zh_CN") == "系统内部出错；主管可查看技术详情。"
    assert read(failures.Failure(code="from_a_newer_desk"), "en").startswith("Something went wrong")
