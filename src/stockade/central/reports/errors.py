"""Report errors.

InvalidReport (BadRequest, 400)   a collection or report configuration being saved is wrong;
                                  the message starts with the field's path
ReportFailed                      a run could not produce or deliver its report; the job
                                  keeps the message as its failure reason
"""

from __future__ import annotations

from stockade.central.errors import BadRequest, CentralError


class InvalidReport(BadRequest):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class ReportFailed(CentralError):
    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
