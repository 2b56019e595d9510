"""Floods its terminal and echoes each key it reads where the flood cannot scroll it away.

Run in a terminal of the app by `tests/bench/app_bench.mjs` (ONLY=echo): the lines go to a scroll
region (rows 2 to the last) as fast as the terminal takes them, and each byte read from the
keyboard is shown on row 1 as `KEY-<n>` (n counts the keys), so the time from a keystroke to its
echo being on the screen can be measured while the flood goes on. Ends after `want` keys.
"""
import os
import select
import sys
import termios
import tty

want = int(sys.argv[1])
fd = sys.stdin.fileno()
saved = termios.tcgetattr(fd)
tty.setraw(fd)  # no echo by the line discipline: the echo is ours, on row 1
rows = os.get_terminal_size().lines
out = sys.stdout.buffer
chunk = (b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456\r\n") * 800
out.write(b"\x1b[2J\x1b[2;%dr\x1b[%d;1H" % (rows, rows))
keys = 0
try:
    while keys < want:
        out.write(chunk)
        out.flush()
        if select.select([fd], [], [], 0)[0]:
            for _ in os.read(fd, 64):
                keys += 1
                out.write(b"\x1b7\x1b[1;1H\x1b[2KKEY-%d\x1b8" % keys)
finally:
    out.write(b"\x1b[r\x1b[2J\x1b[H")
    out.flush()
    termios.tcsetattr(fd, termios.TCSADRAIN, saved)
