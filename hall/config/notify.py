"""Config of evaluation (好差评), bad-review follow-ups and SMS reminders.

The hall config is published on the bus (``config/hall/current``), so nothing
secret lives here: the SMS gateway's password or token and a SIM PIN are read
by the sender from a systemd credential file (``$CREDENTIALS_DIRECTORY``) or a
file path named here, never from this schema.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from .base import Ident, Names, Strict
from .queue import Period


class EvaluationConfig(Strict):
    timeout_s: int = Field(30, ge=5, le=300,
                           description="Seconds the evaluator waits for the citizen's key; then 'not rated'.")


class FollowupConfig(Strict):
    """整改/回访 after a bad review (不满意 or 非常不满意)."""

    callback_working_days: int = Field(
        1, ge=0, le=30, description="回访: call the citizen back within this many working days.")
    deadline_working_days: int = Field(
        15, ge=1, le=60, description="整改: the follow-up must be closed (with a note) within this many "
                                     "working days; counted on the hall's service_hours days, closed_dates "
                                     "and extra_open_dates, the rating's own day not counted.")
    closed_visible_hours: int = Field(
        24, ge=0, le=720, description="A closed follow-up stays on its retained alert topic this long, "
                                      "then the topic is cleared.")
    keep_closed_days: int = Field(
        31, ge=1, le=366,
        description="Closed follow-ups stay listed (`onewindow followup list --status all`) this long.")


class SmsTemplates(Strict):
    """Texts per reason, Chinese and English (``tw`` optional).  Placeholders:
    ``{hall}`` hall name, ``{number}`` ticket, ``{matter}``, ``{ahead}``,
    ``{minutes}`` estimate, ``{range}`` its 80 % range (``15–25``), ``{window}`` window number, ``{zone}``, ``{deadline}`` HH:MM,
    ``{missing}`` the materials still to bring (the 补正 notice); for cases: ``{case}`` the case
    number, ``{deadline}`` its deadline (a date), ``{reason}`` an extension's reason."""

    issued: Names = Field(
        default=Names(zh="【{hall}】您已取号{number}（{matter}），前面还有{ahead}人，请留意叫号。",
                      en="[{hall}] Your number is {number} ({matter}); {ahead} ahead of you."),
        description="Sent on issue (if `on_issue`).")
    near: Names = Field(
        default=Names(zh="【{hall}】您的号码{number}前面还有{ahead}人，预计约{range}分钟叫到，请回到{zone}等候。",
                      en="[{hall}] {number}: {ahead} ahead of you, about {range} min. "
                         "Please come back to {zone}."),
        description="Sent once when the turn comes near.")
    called: Names = Field(
        default=Names(zh="【{hall}】请{number}号到{window}号窗口办理。",
                      en="[{hall}] Number {number}, please go to window {window}."),
        description="Sent on the first call.")
    requeue: Names = Field(
        default=Names(zh="【{hall}】您的号码{number}已过号，请于{deadline}前到取号机重新排队。",
                      en="[{hall}] {number} was called but missed; re-queue at a kiosk before {deadline}."),
        description="Sent when a ticket is marked no-show and may re-queue.")
    notice: Names = Field(
        default=Names(zh="【{hall}】一次性告知：您办理的{matter}还需补齐以下材料：{missing}。备齐后请再来办理。",
                      en="[{hall}] For {matter} please bring: {missing}. Then come again."),
        description="补正 one-time notice (一次性告知) sent when the clerk chooses SMS.")
    case_ready: Names = Field(
        default=Names(zh="【{hall}】您的办件{case}（{matter}）已办结，请携带身份证件到大厅领取。",
                      en="[{hall}] Your case {case} ({matter}) is ready: collect it at the hall with your ID."),
        description="A case reached 待领取 (ready to collect).")
    case_correction: Names = Field(
        default=Names(zh="【{hall}】您的办件{case}（{matter}）需补正：{missing}。请备齐后到大厅提交，补正期间办理时限暂停。",
                      en="[{hall}] Case {case} ({matter}) needs: {missing}. Bring it to the hall; "
                         "the time limit waits for you."),
        description="A case went to 补正中: what is missing (the clerk's opinion).")
    case_extended: Names = Field(
        default=Names(zh="【{hall}】您的办件{case}（{matter}）办理时限延长至{deadline}，原因：{reason}。",
                      en="[{hall}] The time limit of case {case} ({matter}) is extended to {deadline}: {reason}."),
        description="A case's deadline was extended (延期).")


class GsmSenderConfig(Strict):
    type: Literal["gsm"] = Field(description="A GSM/4G modem on a serial port (AT commands, PDU mode).")
    port: str = Field(min_length=1, description="Serial port, e.g. `/dev/serial/by-id/usb-Quectel_EC20…-if02`.")
    baud: int = Field(115200, description="Line speed, 8N1.")
    smsc: str | None = Field(None, pattern=r"^\+?[0-9]{3,20}$",
                             description="SMS centre number; empty: the one stored on the SIM.")
    pin_file: str | None = Field(None, description="File holding the SIM PIN; default: the systemd "
                                                   "credential `sms-sim-pin` if present.")
    command_timeout_s: float = Field(10, gt=0, le=120, description="Wait for OK/ERROR of one AT command.")
    send_timeout_s: float = Field(60, gt=0, le=300, description="Wait for `+CMGS` after one part.")


_GATEWAY_URL = re.compile(r"^(https://[^/?#]+|http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?)(/|$)")


class HttpSenderConfig(Strict):
    type: Literal["http"] = Field(description="An HTTP SMS gateway: POST JSON `{to, text, id}`.")
    url: str = Field(description="Gateway endpoint, `https://` only: phone numbers leave the hall here "
                                 "(plain `http://` only to a relay on the hall server itself: 127.0.0.1, "
                                 "localhost, [::1]); put no secret in it.")
    username: str | None = Field(None, description="Basic-auth user; none: the secret is a Bearer token.")
    secret_file: str | None = Field(None, description="File holding the password or token; default: "
                                                      "the systemd credential `sms-gateway`.")
    timeout_s: float = Field(10, gt=0, le=120, description="HTTP timeout of one request.")

    @field_validator("url")
    @classmethod
    def _https(cls, v: str) -> str:
        if not _GATEWAY_URL.match(v):
            raise ValueError("the SMS gateway must be https:// (phone numbers cross the network to it); "
                             "plain http:// only to 127.0.0.1, localhost or [::1]")
        return v


class FakeSenderConfig(Strict):
    type: Literal["fake"] = Field(description="Accepts every message and logs it masked (demo halls).")


SenderConfig = Annotated[Union[GsmSenderConfig, HttpSenderConfig, FakeSenderConfig],
                         Field(discriminator="type")]


class SmsConfig(Strict):
    enabled: bool = Field(False, description="Send SMS reminders to tickets that left a phone number.")
    sender_id: Ident = Field("sms1", description="Device id of the sender process; its topics are "
                                                 "`device/<sender_id>/…` so an ACL can confine it.")
    on_issue: bool = Field(False, description="Send a message when the number is taken.")
    near_ahead: int | None = Field(3, ge=0, le=100,
                                   description="Remind when this many tickets or fewer are ahead (null: off).")
    near_minutes: int | None = Field(10, ge=0, le=240,
                                     description="Remind when the estimate is this many minutes or fewer "
                                                 "(null: off).")
    near_at_issue: bool = Field(False, description="Also remind a ticket that is already near when issued "
                                                   "(its printed ticket tells it so).")
    on_called: bool = Field(True, description="Send a message on the first call (not on recalls).")
    on_noshow: bool = Field(True, description="Tell a no-show until when it may re-queue.")
    on_case: bool = Field(True, description="Tell an applicant when their case is ready to collect, needs "
                                            "correction (补正) or has its deadline extended (docs/cases.md).")
    case_hours: Period = Field(
        default_factory=lambda: Period(start=dt.time(8, 0), end=dt.time(20, 0)),
        description="Hall local hours when a case's message (待领取, 补正中, an extension) may go out, every "
                    "day; one whose step arrives outside them (an outside system reporting at night) is held "
                    "and sent at the next `start`.")
    per_phone_max: int = Field(6, ge=1, le=100, description="At most this many messages to one number…")
    per_phone_minutes: int = Field(60, ge=1, le=1440, description="…within this many minutes.")
    resend_s: int = Field(20, ge=2, le=600, description="Resend a request the sender has not answered.")
    expire_s: int = Field(900, ge=30, le=86400,
                          description="A message not sent this long after it was due is dropped (a late "
                                      "'come now' is worse than none).")
    templates: SmsTemplates = Field(default_factory=SmsTemplates,
                                    description="Message texts per reason and language.")
    sender: SenderConfig = Field(default_factory=lambda: FakeSenderConfig(type="fake"),
                                 description="The driver the `onewindow sms` process uses.")

    @model_validator(mode="after")
    def _some_rule(self) -> "SmsConfig":
        if self.enabled and not (self.on_issue or self.on_called or self.on_noshow
                                 or self.near_ahead is not None or self.near_minutes is not None):
            raise ValueError("sms is enabled but every rule is off")
        return self


class NotifyConfig(Strict):
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig,
                                         description="好差评 on the window's evaluator.")
    followup: FollowupConfig = Field(default_factory=FollowupConfig,
                                     description="整改/回访 records opened by bad reviews.")
    sms: SmsConfig = Field(default_factory=SmsConfig, description="SMS reminders and the SMS sender.")
