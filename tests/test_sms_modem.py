"""The GSM modem driver against the fake modem on a pty (the real pyserial path)."""

from __future__ import annotations

import logging

import pytest

from hall.seriallink import SerialLink
from sms import SmsError
from sms.fake_modem import FakeModem, ModemQuirks
from sms.gsm import GsmModem

PHONE = "13812345678"


@pytest.fixture
def modem():
    made = []

    def make(**quirks):
        fm = FakeModem(ModemQuirks(**quirks)).start()
        drv = GsmModem(SerialLink(fm.port, 115200), pin=lambda: "1234", command_timeout_s=1.5,
                       send_timeout_s=1.5)
        made.append((fm, drv))
        return fm, drv

    yield make
    for fm, drv in made:
        drv.close()
        fm.stop()


def test_init_sequence_and_one_chinese_message(modem, caplog):
    fm, drv = modem()
    caplog.set_level(logging.INFO)
    drv.open()
    assert fm.commands == ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CMGF=0", "AT+CSQ"]
    assert drv.status() == {"sim": "ready", "signal": 21}
    res = drv.send("20261120-G006.called", PHONE, "【测试行政服务中心】请G006号到5号窗口办理。")
    assert (res.parts, res.refs) == (1, ["1"])
    assert fm.messages() == [(PHONE, "【测试行政服务中心】请G006号到5号窗口办理。")]
    assert fm.commands[-1] == "AT+CMGS=62"
    assert PHONE not in caplog.text and "138****5678" in caplog.text


def test_multipart_with_urcs_in_between(modem):
    fm, drv = modem(urc=True)
    drv.open()
    text = "【西湖区行政服务中心】" + "请携带身份证原件到二楼企业开办区办理。" * 8
    progress = []
    res = drv.send("x", PHONE, text, concat_ref=200, progress=lambda n, refs: progress.append((n, refs)))
    assert res.parts == 3 and res.refs == ["1", "2", "3"]
    assert progress == [(1, ["1"]), (2, ["1", "2"]), (3, ["1", "2", "3"])]
    assert fm.messages() == [(PHONE, text)]
    assert {d.ref for d in fm.decoded()} == {200}


def test_resume_after_the_parts_already_sent(modem):
    fm, drv = modem(fail_next=[])
    drv.open()
    text = "长" * 150  # 3 parts
    fm.quirks.fail_next = []
    first = drv.send("x", PHONE, text, concat_ref=5, start_part=0)
    assert first.parts == 3
    fm.pdus.clear()
    again = drv.send("x", PHONE, text, concat_ref=5, start_part=2)
    assert len(again.refs) == 1 and [d.seq for d in fm.decoded()] == [3]


def test_network_rejection_fails_the_message_but_congestion_does_not(modem):
    fm, drv = modem(fail_next=[21])
    drv.open()
    with pytest.raises(SmsError) as e:
        drv.send("x", PHONE, "你好")
    assert (e.value.code, e.value.permanent, e.value.device) == ("CMS21", True, False)
    fm.quirks.fail_next = [42]
    with pytest.raises(SmsError) as e:
        drv.send("x", PHONE, "你好")
    assert (e.value.code, e.value.permanent) == ("CMS42", False)
    assert drv.send("x", PHONE, "你好").refs == ["1"]  # the modem is still usable


def test_sim_faults_are_device_faults(modem):
    fm, drv = modem(sim="missing")
    with pytest.raises(SmsError) as e:
        drv.open()
    assert (e.value.code, e.value.device, e.value.permanent) == ("CME10", True, False)
    assert drv.status()["sim"] == "SIM not inserted" and not drv.ready
    fm2, drv2 = modem(sim="pin")
    drv2.open()  # PIN from the credential
    assert "AT+CPIN=<pin>" in fm2.commands and drv2.ready
    fm3 = FakeModem(ModemQuirks(sim="pin")).start()
    try:
        drv3 = GsmModem(SerialLink(fm3.port, 115200), pin=lambda: None, command_timeout_s=1.0)
        with pytest.raises(SmsError) as e:
            drv3.open()
        assert e.value.device and "PIN" in e.value.message
        drv3.close()
    finally:
        fm3.stop()


def test_a_silent_modem_times_out_as_a_device_fault(modem):
    fm, drv = modem(silent=True)
    with pytest.raises(SmsError) as e:
        drv.open()
    assert e.value.device and e.value.code == "modem"


def test_a_missing_port_is_a_device_fault():
    drv = GsmModem(SerialLink("/dev/nonexistent-modem", 115200))
    with pytest.raises(SmsError) as e:
        drv.open()
    assert (e.value.code, e.value.device) == ("port", True)


def test_english_goes_as_7bit_and_is_decoded_back(modem):
    fm, drv = modem()
    drv.open()
    text = "[Xihu Service Center] Number A023, please go to window 12. " * 3  # 174 chars: 2 parts
    assert drv.send("x", "+8613812345678", text, concat_ref=3).parts == 2
    assert fm.messages() == [("+8613812345678", text)]
    assert {d.dcs for d in fm.decoded()} == {0x00}
