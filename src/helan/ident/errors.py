"""One error type for the identifier system: it carries the Handle response code it answers with."""

from __future__ import annotations

from helan.core.errors import HelanError
from helan.ident.codes import HTTP_STATUS, ResponseCode


class HandleError(HelanError):
    """A failure that the protocol reports as ``rc`` (a :class:`ResponseCode`)."""

    code = "handle_error"

    def __init__(self, rc: ResponseCode, message: str) -> None:
        super().__init__(message, code=rc.name.lower())
        self.rc = rc
        self.status = HTTP_STATUS.get(rc, 500)


class WireError(HandleError):
    """A message that cannot be decoded: truncated, lying lengths, unknown operations."""

    def __init__(self, message: str, rc: ResponseCode = ResponseCode.PROTOCOL_ERROR) -> None:
        super().__init__(rc, message)
