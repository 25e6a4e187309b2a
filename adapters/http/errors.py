"""OMG's response envelope and error objects (elixir-omg's `OMG.Utils.HttpRPC.Response`,
`Error` and the watcher's `Fallback` controller).

Every answer is `{"version", "success", "data", "service_name"}`; an error's data is
`{"object": "error", "code", "description", "messages"?}`. As in elixir-omg an application
error is HTTP 200 with `success: false`; a body that is not JSON is 400, a wrong content
type 415, an unknown route 404, a body over the size limit 413. Codes are elixir's: the
fallback's table (`exit:invalid`, `transaction:not_found`, ...) or, for a reason it does
not name, `<controller action>:<reason>` (`submit:utxo_not_found`).
"""
from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

VERSION = "1.0.0+omg-ledger"
SERVICE_NAME = "omg-ledger"

# elixir-omg's fallback table: reason -> (code, description)
FALLBACK = {
    "exit_not_found": ("challenge:exit_not_found",
                       "The challenge of particular exit is impossible because exit is inactive or missing"),
    "utxo_not_spent": ("challenge:utxo_not_spent",
                       "The challenge of particular exit is impossible because provided utxo is not spent"),
    "transaction_not_found": ("transaction:not_found", "Transaction doesn't exist for provided search criteria"),
    "utxo_not_found": ("exit:invalid", "Utxo was spent or does not exist."),
    "tx_for_input_not_found": ("in_flight_exit:tx_for_input_not_found", "No transaction that created input."),
    "insufficient_funds": ("transaction.create:insufficient_funds", "Account balance is too low to satisfy the payment."),
    "too_many_inputs": ("transaction.create:too_many_inputs",
                        "The number of inputs required to cover the payment and fee exceeds the maximum allowed."),
    "too_many_outputs": ("transaction.create:too_many_outputs",
                         "Total number of payments + change + fees exceed maximum allowed outputs."),
    "empty_transaction": ("transaction.create:empty_transaction", "Requested payment transfers no funds."),
    "self_transaction_not_supported": ("transaction.create:self_transaction_not_supported",
                                       "This endpoint cannot be used to create merge or split transactions."),
    "operation_not_found": ("operation:not_found", "Operation cannot be found. Check request URL."),
    "operation_bad_request": ("operation:bad_request",
                              "Parameters required by this operation are missing or incorrect."),
}


class ApiError(Exception):
    """An OMG error answer. `reason` is looked up in the fallback table, else the code is
    `action:reason` as elixir-omg's fallback builds it."""

    def __init__(self, action: str, reason: str, description: str | None = None,
                 messages: dict[str, Any] | None = None, status: int = 200) -> None:
        code, known = FALLBACK.get(reason, (f"{action}:{reason}", None))
        super().__init__(code)
        self.code, self.description = code, description or known or reason.replace("_", " ")
        self.messages, self.status = messages, status


def bad_request(parameter: str, validator: str) -> ApiError:
    """elixir's `{:validation_error, param, validator}`: the parameter and the validator it failed."""
    return ApiError("", "operation_bad_request",
                    messages={"validation_error": {"parameter": parameter, "validator": validator}})


def envelope(data: Any, success: bool = True, **extra: Any) -> dict[str, Any]:
    return {"version": VERSION, "success": success, "data": data, "service_name": SERVICE_NAME, **extra}


def error_body(error: ApiError) -> dict[str, Any]:
    data: dict[str, Any] = {"object": "error", "code": error.code, "description": error.description}
    if error.messages is not None:
        data["messages"] = error.messages
    return envelope(data, success=False)


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)
