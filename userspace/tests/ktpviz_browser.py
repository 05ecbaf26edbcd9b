# SPDX-License-Identifier: GPL-2.0
"""Debian's Chromium, headless, driven over the DevTools protocol on a
pipe (--remote-debugging-pipe: JSON messages ending in a NUL byte, on
file descriptors 3 and 4), for ktpviz_test.py; and a PNG reader to look
at the screenshots. Standard library only."""

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import zlib

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--remote-debugging-pipe", "--font-render-hinting=none",
]


class BrowserError(Exception):
    pass


class Browser:
    """One headless Chromium with one page."""

    def __init__(self, binary="/usr/bin/chromium", timeout=30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ktpviz-chromium.")
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def fds():
            # fd 3 may be from_w itself: move both out of the way first
            r, w = os.dup(to_r), os.dup(from_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [binary] + CHROMIUM_FLAGS + ["--user-data-dir=" + self.profile,
                                         "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(3, 4),
            preexec_fn=fds)
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        self._events = []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")
        self.session = self.call("Target.attachToTarget", flatten=True,
                                 targetId=target["targetId"])["sessionId"]
        self.call("Page.enable")

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("no answer from chromium in time")
            ready, _, _ = select.select([self._from_r], [], [], left)
            if ready:
                chunk = os.read(self._from_r, 1 << 20)
                if not chunk:
                    raise BrowserError("chromium went away")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=True, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise BrowserError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self._events.append(m)

    def wait_event(self, name, deadline):
        while True:
            for k, m in enumerate(self._events):
                if m.get("method") == name:
                    del self._events[k]
                    return m
            self._events.append(self._read(deadline))

    def open(self, url, width, height):
        """Load @url in a @width x @height viewport; returns the seconds
        from the navigation to the first frame painted after load."""
        self.call("Emulation.setDeviceMetricsOverride", width=width,
                  height=height, deviceScaleFactor=1, mobile=False)
        self._events = []
        start = time.monotonic()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", start + self.timeout)
        self.eval("new Promise(r => requestAnimationFrame(() => "
                  "requestAnimationFrame(r)))", awaited=True)
        return time.monotonic() - start

    def eval(self, expr, awaited=False):
        r = self.call("Runtime.evaluate", expression=expr,
                      returnByValue=True, awaitPromise=awaited)
        if "exceptionDetails" in r:
            raise BrowserError("script: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def screenshot(self, x, y, width, height, scale=1.0):
        """PNG bytes of a region of the page."""
        r = self.call("Page.captureScreenshot", format="png",
                      captureBeyondViewport=True,
                      clip={"x": x, "y": y, "width": width,
                            "height": height, "scale": scale})
        return base64.b64decode(r["data"])


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    off, idat, width = 8, b"", 0
    while off < len(data):
        n = int.from_bytes(data[off:off + 4], "big")
        kind = data[off + 4:off + 8]
        body = data[off + 8:off + 8 + n]
        if kind == b"IHDR":
            width = int.from_bytes(body[0:4], "big")
            height = int.from_bytes(body[4:8], "big")
            depth, color = body[8], body[9]
            if depth != 8 or color not in (2, 6):
                raise ValueError("PNG of depth %d, colour type %d" %
                                 (depth, color))
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        off += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for r in range(height):
        f = raw[r * (stride + 1)]
        line = bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows
