"""Every error code of the bus protocol, with what it means.

A refusal names its code with :class:`ErrorCode` (``Refused(ErrorCode.PAUSED,
…)``), never with a bare string: docs/protocol.md's list of codes is generated
from :data:`ERROR_DOCS`, and tests/test_error_codes.py scans the code so that a
code sent is a code documented, and a code documented is one the code sends.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # the door: before or while decoding a request
    BAD_JSON = "bad_json"
    BAD_REQUEST = "bad_request"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    BUSY = "busy"
    INTERNAL = "internal"
    # unknown ids
    UNKNOWN_MATTER = "unknown_matter"
    UNKNOWN_BUNDLE = "unknown_bundle"
    UNKNOWN_WINDOW = "unknown_window"
    UNKNOWN_TICKET = "unknown_ticket"
    UNKNOWN_PRIORITY = "unknown_priority"
    UNKNOWN_APPOINTMENT = "unknown_appointment"
    UNKNOWN_CASE = "unknown_case"
    UNKNOWN_FOLLOWUP = "unknown_followup"
    UNKNOWN_KIOSK = "unknown_kiosk"
    UNKNOWN_SENDER = "unknown_sender"
    UNKNOWN_MATERIAL = "unknown_material"
    UNKNOWN_REVISION = "unknown_revision"
    # tickets and windows
    NOT_LOGGED_IN = "not_logged_in"
    OCCUPIED = "occupied"
    STAFF_ELSEWHERE = "staff_elsewhere"
    PAUSED = "paused"
    QUEUE_EMPTY = "queue_empty"
    NO_CURRENT_TICKET = "no_current_ticket"
    NO_TICKET = "no_ticket"
    WRONG_WINDOW = "wrong_window"
    RECALL_LIMIT = "recall_limit"
    REQUEUE_EXPIRED = "requeue_expired"
    BAD_STATE = "bad_state"
    BAD_SECRET = "bad_secret"
    ALREADY_RATED = "already_rated"
    BAD_PRIORITY = "bad_priority"
    BAD_PRIORITY_CODE = "bad_priority_code"
    HALL_CLOSED = "hall_closed"
    DAILY_CAP = "daily_cap"
    APPOINTMENT_USED = "appointment_used"
    TOO_EARLY = "too_early"
    WRONG_DAY = "wrong_day"
    NO_PHONE = "no_phone"
    SMS_DISABLED = "sms_disabled"
    # forms, profiles, cases, follow-ups
    BAD_FORM = "bad_form"
    BAD_PROFILE = "bad_profile"
    BAD_TRANSITION = "bad_transition"
    NO_WARNING = "no_warning"
    ALREADY_CLOSED = "already_closed"
    NOTE_REQUIRED = "note_required"
    # the config
    BAD_CONFIG = "bad_config"
    STALE_CONFIG = "stale_config"
    LOCAL_ONLY = "local_only"
    CONFIG_CONFLICT = "config_conflict"
    CONFIG_WRITE_FAILED = "config_write_failed"
    # raised by the client side (hall.bus.Requester, the web terminal), never sent by the engine
    OFFLINE = "offline"
    ENGINE_OFFLINE = "engine_offline"
    TIMEOUT = "timeout"


E = ErrorCode

ERROR_DOCS: dict[ErrorCode, str] = {
    E.BAD_JSON: "The payload is not JSON; not parsed further (the reply's `id` is `\"\"`).",
    E.BAD_REQUEST: "Schema violation, unknown field, wrong type, or a combination the op refuses; "
                   "the message names the field (`` Expected `str`, got `int` - at `$.matter` ``).",
    E.TOO_LARGE: "Payload over 16 KiB (4 MiB for `config/<id>/request/set`); not parsed.",
    E.TOO_DEEP: "Arrays/objects nested deeper than 32; not parsed.",
    E.FORBIDDEN: "The requester is not configured for the kind it speaks as (a display on "
                 "`kiosk/<id>/…`, a kiosk the config does not list, a non-admin on `config/` or `alert/`).",
    E.RATE_LIMITED: "The client is over its token bucket (answered at the door, never queued), or a kiosk "
                    "made too many wrong case look-ups.",
    E.BUSY: "The engine's inbound queue is full (answered at the door); or, from a window, the window "
            "still has a ticket called (finish, transfer or mark it no-show first).",
    E.INTERNAL: "A bug: the command was undone whole and the log has the trace; retrying is safe.",
    E.UNKNOWN_MATTER: "No such matter in this hall (or the booked matter is no longer offered).",
    E.UNKNOWN_BUNDLE: "No such bundle (一件事) in this hall.",
    E.UNKNOWN_WINDOW: "No such window in this hall.",
    E.UNKNOWN_TICKET: "No such ticket today.",
    E.UNKNOWN_PRIORITY: "No such priority class.",
    E.UNKNOWN_APPOINTMENT: "No appointment with this code.",
    E.UNKNOWN_CASE: "No case with this number (and, at a kiosk, this code: the same answer for both).",
    E.UNKNOWN_FOLLOWUP: "No such follow-up.",
    E.UNKNOWN_KIOSK: "The kiosk is not in this hall's config.",
    E.UNKNOWN_SENDER: "The requester is not this hall's SMS sender.",
    E.UNKNOWN_MATERIAL: "A 补正 names a material the matter does not have.",
    E.UNKNOWN_REVISION: "A rollback names a config revision that does not exist.",
    E.NOT_LOGGED_IN: "Nobody is logged in at the window.",
    E.OCCUPIED: "The window is staffed by someone else; log out first.",
    E.STAFF_ELSEWHERE: "The staff member is logged in at another window.",
    E.PAUSED: "The window is paused; resume first.",
    E.QUEUE_EMPTY: "Nobody is waiting for this window.",
    E.NO_CURRENT_TICKET: "The window has no ticket called.",
    E.NO_TICKET: "The window has no ticket to rate or whose form to show.",
    E.WRONG_WINDOW: "The ticket was not served at this window.",
    E.RECALL_LIMIT: "The ticket was recalled `recall_limit` times already.",
    E.REQUEUE_EXPIRED: "A no-show ticket's time to re-queue has passed.",
    E.BAD_STATE: "The ticket (or case) is in a state the op does not apply to.",
    E.BAD_SECRET: "The ticket's secret (from its QR) is missing or wrong.",
    E.ALREADY_RATED: "The visit has been rated (one rating per visit).",
    E.BAD_PRIORITY: "This priority class is not taken at issue (appointments check in).",
    E.BAD_PRIORITY_CODE: "The green-channel code is not valid.",
    E.HALL_CLOSED: "Numbers are issued in service hours only.",
    E.DAILY_CAP: "The kiosk or the phone number has taken its tickets for today.",
    E.APPOINTMENT_USED: "The appointment was used on another day.",
    E.TOO_EARLY: "Check-in for the appointment is not open yet.",
    E.WRONG_DAY: "The appointment is for another day.",
    E.NO_PHONE: "An SMS notice was asked for a ticket that left no phone number.",
    E.SMS_DISABLED: "An SMS notice was asked in a hall without SMS.",
    E.BAD_FORM: "A form field does not pass its check; the message names the field.",
    E.BAD_PROFILE: "A profile field is unknown or does not pass its check; the message names it.",
    E.BAD_TRANSITION: "A case cannot move from its stage to the one asked.",
    E.NO_WARNING: "The case has no supervision warning to acknowledge.",
    E.ALREADY_CLOSED: "The follow-up was closed already.",
    E.NOTE_REQUIRED: "Closing a follow-up needs a note of what was done.",
    E.BAD_CONFIG: "A config push fails the schema or a cross-check: every problem at once, each with "
                  "its field path.",
    E.STALE_CONFIG: "The push's `base` is not the revision in force; the message names it.",
    E.LOCAL_ONLY: "The push changes settings only the server's own file sets (the SMS sender); the "
                  "message names each field.",
    E.CONFIG_CONFLICT: "The new config would strand a waiting ticket or a staffed window.",
    E.CONFIG_WRITE_FAILED: "The config file could not be written; nothing changed.",
    E.OFFLINE: "Client side: not connected to the hall bus; nothing was sent.",
    E.ENGINE_OFFLINE: "Client side (web terminal): the engine's availability is not online; nothing was sent.",
    E.TIMEOUT: "Client side: no reply after the retries (the same request id; safe to retry again).",
}

CLIENT_SIDE = frozenset({E.OFFLINE, E.ENGINE_OFFLINE, E.TIMEOUT})
