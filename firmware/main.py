# OWB/1 reference firmware for a Raspberry Pi Pico (RP2040), MicroPython 1.20+.
#
# One board = one device on the RS-485 line: a caller keypad, an evaluator or an
# LED bar, chosen by KIND below.  Wiring (see firmware/README.md):
#   GP0 (UART0 TX) -> RS-485 module DI      GP1 (UART0 RX) <- RO
#   GP2 -> DE and /RE (skip with an auto-direction module)
#   GP6..GP15 keys to GND (internal pull-ups), GP25 on-board LED = prompt light
#
# The protocol itself lives in owproto.py, which the project's tests check
# against the same golden frames as the bridge.

import time

from machine import UART, Pin

import owproto as P

ADDRESS = 2                 # the DIP switch / config `address`
KIND = P.KIND_KEYPAD        # P.KIND_LEDBAR, P.KIND_KEYPAD or P.KIND_EVALUATOR
BAUD = 115200
DE_PIN = 2                  # None with an auto-direction transceiver

# keypad: pin -> key code; digits 0-9 for login / transfer are typed on a
# separate 3x4 matrix in a full build, here two keys stand for "1" and "0"
KEYPAD_KEYS = {6: P.KEY_NEXT, 7: P.KEY_RECALL, 8: P.KEY_NOSHOW, 9: P.KEY_PAUSE,
               10: P.KEY_FINISH, 11: P.KEY_LOGIN, 12: P.KEY_TRANSFER}
DIGIT_KEYS = {13: "1", 14: "0"}
# evaluator: pin -> level (5 = 非常满意 … 1 = 非常不满意, GB/T 39734-2020)
EVAL_KEYS = {6: 5, 7: 4, 8: 3, 9: 2, 10: 1}

uart = UART(0, baudrate=BAUD, tx=Pin(0), rx=Pin(1), bits=8, parity=None, stop=1, timeout=0)
de = Pin(DE_PIN, Pin.OUT, value=0) if DE_PIN is not None else None
light = Pin(25, Pin.OUT, value=0)
dev = P.Device(ADDRESS, KIND)
parser = P.Parser()
keys = EVAL_KEYS if KIND == P.KIND_EVALUATOR else dict(KEYPAD_KEYS)
if KIND == P.KIND_KEYPAD:
    keys.update(DIGIT_KEYS)
pins = {n: Pin(n, Pin.IN, Pin.PULL_UP) for n in keys}
last = {n: 1 for n in pins}
digits = ""
prompt_until = 0


def send(frame):
    # one frame = 10 bits a byte; hold DE until the last stop bit has left
    if de is not None:
        de.value(1)
    uart.write(frame)
    if de is not None:
        time.sleep_us(len(frame) * 10 * 1000000 // BAUD + 50)
        de.value(0)


def scan_keys():
    global digits
    for n, pin in pins.items():
        v = pin.value()
        if v == 0 and last[n] == 1:           # pressed (debounced by the 5 ms loop)
            code = keys[n]
            if KIND == P.KIND_EVALUATOR:
                dev.rate(code)
            elif n in DIGIT_KEYS:
                digits = (digits + code)[-8:]
            elif code in (P.KEY_LOGIN, P.KEY_TRANSFER):
                dev.queue_key(code, digits.encode())
                digits = ""
            else:
                dev.queue_key(code)
        last[n] = v


while True:
    n = uart.any()
    if n:
        for b in uart.read(n):
            fr = parser.feed(b)
            if fr is None:
                continue
            addr, ctrl, cmd, payload = fr
            if ctrl & P.REPLY:
                continue                      # another device's reply
            had_prompt = dev.prompt
            reply = dev.handle(addr, ctrl & 0x0F, cmd, payload)
            if reply is not None:
                send(reply)
            if dev.prompt is not None and had_prompt is None:
                prompt_until = time.ticks_add(time.ticks_ms(), dev.prompt[0] * 1000)
    scan_keys()
    if KIND == P.KIND_EVALUATOR:
        light.value(1 if dev.prompt is not None else 0)
        if dev.prompt is not None and time.ticks_diff(time.ticks_ms(), prompt_until) > 0:
            dev.prompt_timed_out()
    elif KIND == P.KIND_LEDBAR:
        # a real bar hands dev.lines (GB2312) to its panel driver and font; the
        # on-board LED only shows whether there is text, blinking when flashing
        on = bool(dev.lines) and (not dev.flash_s or (time.ticks_ms() // 250) % 2 == 0)
        light.value(1 if on else 0)
    time.sleep_ms(5)
