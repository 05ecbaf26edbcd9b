#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""ktpviz in a real browser: pages drawn from the captures and trace
records in ktpviz_data/ (recorded in the test VM by scripts/demo.sh
--all), opened in Debian's headless Chromium, checked by what the page
shows:

- eleven state nodes; the highlighted edges each side took, in the
  order of the trace record (read here with a regular expression of its
  own), which is also the path RFC 9293 draws for that scene;
- one arrow per captured segment, each labelled with the flags and the
  seq/ack relative to the ISNs that tshark (through docs/ktp.lua) reads
  from the capture, worked out here;
- the demo page's two scenes as screenshots: not blank, not alike;
- a 10 MiB transfer with 5 % loss (a capture written here) drawn in
  under 2 s, with the retransmissions marked, thinned to few nodes;
- the same capture as pcapng (editcap) drawn the same.

KTAP output. KTPVIZ_SCREENSHOT=FILE also writes the demo page's
screenshot there (the README's picture is made this way).
"""

import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import ktpviz_browser as kb  # noqa: E402

KTPVIZ = os.path.join(TOP, "userspace", "tools", "ktpviz")
DATA = os.path.join(HERE, "ktpviz_data")
LUA = os.path.join(TOP, "docs", "ktp.lua")

ACTIVE = "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED"
PASSIVE = "CLOSED LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED"
# Each capture's connections: the path each side takes in RFC 9293,
# the active opener (x) first.
CASES = {
    "greeting": [(ACTIVE, PASSIVE)],
    "halfclose": [(ACTIVE, PASSIVE)],
    "retransmit": [(ACTIVE, PASSIVE)],
    "simopen": [("CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 "
                 "FIN_WAIT_2 TIME_WAIT CLOSED",
                 "CLOSED SYN_SENT SYN_RECEIVED ESTABLISHED CLOSE_WAIT "
                 "LAST_ACK CLOSED")],
    "simclose": [("CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSING "
                  "TIME_WAIT CLOSED",
                  "CLOSED LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 "
                  "CLOSING TIME_WAIT CLOSED")],
    "reset": [("CLOSED SYN_SENT CLOSED", ""),
              ("CLOSED SYN_SENT ESTABLISHED CLOSED",
               "CLOSED LISTEN SYN_RECEIVED ESTABLISHED CLOSED")],
}
STATES = {"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
          "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
          "TIME_WAIT"}
RENDER_BOUND = 2.0

# What the page shows, as JSON: per connection its ends, the ladder's
# arrows and labels, the state nodes, the highlighted edges, the graphs.
SUMMARY = r"""
JSON.stringify([...document.querySelectorAll('section.conn')].map(sec => {
  const lbl = i => sec.querySelector(
    `svg.ladder g.seglabel[data-i="${i}"] .rel`).textContent;
  const r = sec.getBoundingClientRect();
  return {
    a: sec.dataset.a, b: sec.dataset.b,
    segs: [...sec.querySelectorAll('svg.ladder g.seg')].map(g => ({
      from: g.dataset.from, kinds: g.getAttribute('class'),
      label: lbl(g.dataset.i),
      shown: g.querySelector('line').getBoundingClientRect().width > 0})),
    states: [...sec.querySelectorAll('svg.states g.node[data-state]')]
      .map(n => n.dataset.state),
    took: [...sec.querySelectorAll('svg.states path.took')].map(p =>
      [p.dataset.side, +p.dataset.step, p.dataset.from, p.dataset.to]),
    roles: [...sec.querySelectorAll('.paths .path')]
      .map(p => p.dataset.side),
    tsg: [...sec.querySelectorAll('.tsg-dir')].map(d => ({
      side: d.dataset.side, data: +d.dataset.data, again: +d.dataset.again,
      nodes: d.querySelectorAll('svg *').length,
      shown: d.querySelector('svg').getBoundingClientRect().height})),
    views: ['svg.ladder', 'svg.states', 'svg.tsg'].map(s =>
      sec.querySelectorAll(s).length),
    top: r.top + window.scrollY, height: r.height,
  };
}))
"""


class Ktap:
    def __init__(self, plan):
        self.n = self.failed = 0
        print("TAP version 13")
        print("1..%d" % plan)
        sys.stdout.flush()

    def ok(self, good, name, why=""):
        self.n += 1
        if not good:
            self.failed += 1
            for line in str(why).splitlines():
                print("# " + line)
        print("%sok %d %s" % ("" if good else "not ", self.n, name))
        sys.stdout.flush()


def run_ktpviz(out, captures, traces=(), extra=()):
    cmd = [KTPVIZ, "-o", out] + list(extra)
    for t in traces:
        cmd += ["-t", t]
    subprocess.run(cmd + list(captures), check=True, timeout=120)


def trace_paths(trace):
    """Each socket's states, from the trace record: {(sport, dport):
    [old, new, new...]}, the listener's CLOSED -> LISTEN put in front
    of its request entries."""
    paths, listen = {}, {}
    pat = re.compile(r"ktp_set_state: sport=(\d+) dport=(\d+) .*"
                     r"oldstate=KTP_(\w+) newstate=KTP_(\w+)")
    names = {"CLOSE": "CLOSED", "SYN_RECV": "SYN_RECEIVED",
             "FIN_WAIT1": "FIN_WAIT_1", "FIN_WAIT2": "FIN_WAIT_2"}
    with open(trace) as f:
        for line in f:
            m = pat.search(line)
            if not m:
                continue
            sport, dport = int(m.group(1)), int(m.group(2))
            old, new = (names.get(s, s) for s in m.group(3, 4))
            if dport == 0:
                if new == "LISTEN":
                    listen[sport] = ["CLOSED", "LISTEN"]
                continue
            p = paths.setdefault((sport, dport), [])
            if not p:
                p.extend(listen.get(sport, [])[:1] if old == "LISTEN"
                         else [])
                p.append(old)
            p.append(new)
    return paths


def tshark_segments(pcap):
    """(sport, dport, flags, seq, ack, len) of each segment, as tshark
    reads them through docs/ktp.lua."""
    out = subprocess.run(
        ["tshark", "-X", "lua_script:" + LUA, "-r", pcap, "-T", "fields",
         "-e", "ktp.srcport", "-e", "ktp.dstport", "-e", "ktp.flags.str",
         "-e", "ktp.seq", "-e", "ktp.ack", "-e", "ktp.len"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    segs = []
    for line in out.splitlines():
        f = line.split("\t")
        segs.append((int(f[0]), int(f[1]), f[2], int(f[3]), int(f[4]),
                     int(f[5])))
    return segs


def expected_labels(segs):
    """The ladder's first label line of each segment, worked out from
    tshark's fields: x is the ISN of the first SYN's sender, y the
    other's; a number with no ISN known is printed as it is."""
    conns = {}
    for s in segs:
        key = tuple(sorted((s[0], s[1])))
        conns.setdefault(key, []).append(s)
    labels = {}
    for key, cs in conns.items():
        isn = {}
        first = cs[0]
        x_port = first[1] if first[2] in ("S.", "R.") else first[0]
        for sport, dport, flags, seq, ack, _ in cs:
            if "S" in flags:
                isn.setdefault(sport, seq)
                if "." in flags:
                    isn.setdefault(dport, (ack - 1) & 0xffffffff)

        def rel(port, v):
            if port not in isn:
                return str(v)
            n = (v - isn[port]) & 0xffffffff
            name = "x" if port == x_port else "y"
            return name if n == 0 else "%s+%d" % (name, n)
        out = []
        for sport, dport, flags, seq, ack, ln in cs:
            t = "[%s] seq %s" % (flags or "none", rel(sport, seq))
            if "." in flags:
                t += ", ack %s" % rel(dport, ack)
            out.append(t + ", len %d" % ln)
        labels[key] = out
    return labels


def non_white(png):
    w, h, bpp, rows = kb.png_pixels(png)
    count = sum(1 for row in rows for i in range(0, w * bpp, bpp)
                if min(row[i:i + 3]) < 200)
    return count / (w * h), rows


def check_case(t, b, tmp, name):
    pcap = os.path.join(DATA, name + ".pcap")
    trace = os.path.join(DATA, name + ".trace")
    page = os.path.join(tmp, name + ".html")
    run_ktpviz(page, [pcap], [trace])
    b.open("file://" + page, 1600, 1000)
    secs = json.loads(b.eval(SUMMARY))
    want = CASES[name]
    t.ok(len(secs) == len(want) and
         all(s["views"][:2] == [1, 1] and s["views"][2] >= 1 for s in secs),
         "%s_connections_and_views" % name,
         "%d connections, views %s" % (len(secs),
                                       [s["views"] for s in secs]))
    t.ok(all(len(s["states"]) == 11 and set(s["states"]) == STATES
             for s in secs), "%s_eleven_state_nodes" % name,
         [s["states"] for s in secs])
    # highlighted edges: those of the trace record, in its order
    traced = trace_paths(trace)
    bad = []
    for s, (want_a, want_b) in zip(secs, want):
        port = {e: int(s[e].rsplit(":", 1)[1]) for e in "ab"}
        for k, (side, textbook) in enumerate((("a", want_a),
                                              ("b", want_b))):
            other = "b" if side == "a" else "a"
            from_trace = traced.get((port[side], port[other]), [])
            took = sorted(e[1:] for e in s["took"] if e[0] == s["roles"][k])
            moves = [[a, b] for _, a, b in took]
            expect = [[a, b] for a, b in zip(from_trace, from_trace[1:])]
            if " ".join(from_trace) != textbook:
                bad.append("%s: the trace says %s, RFC 9293 %s" % (
                    side, from_trace, textbook))
            if moves != expect or [n for n, _, _ in took] != \
                    list(range(1, len(moves) + 1)):
                bad.append("%s: drawn %s, traced %s" % (side, took, expect))
    t.ok(not bad, "%s_edges_in_trace_order" % name, "\n".join(bad))
    # one arrow per segment, labelled as tshark's numbers say
    labels = expected_labels(tshark_segments(pcap))
    bad = []
    for s in secs:
        key = tuple(sorted(int(s[e].rsplit(":", 1)[1]) for e in "ab"))
        exp = labels.get(key, [])
        got = [g["label"] for g in s["segs"]]
        if len(got) != len(exp):
            bad.append("%s: %d arrows, %d segments" % (key, len(got),
                                                        len(exp)))
        bad += ["%s: %r does not start %r" % (key, g, e)
                for g, e in zip(got, exp) if not g.startswith(e)][:5]
        bad += ["%s: arrow %d not drawn" % (key, k + 1)
                for k, g in enumerate(s["segs"]) if not g["shown"]]
    t.ok(not bad and sum(len(v) for v in labels.values()) > 0,
         "%s_one_labelled_arrow_per_segment" % name, "\n".join(bad))
    return secs


def check_kinds(t, secs, name, kind, what):
    n = sum(kind in g["kinds"].split() for s in secs for g in s["segs"])
    t.ok(n > 0, "%s_%s_drawn_apart" % (name, what), "no %s arrow" % kind)


def check_demo(t, b, tmp):
    """Both scenes on one page, as make demo draws them: each one's
    screenshot is not blank, and the two differ."""
    page = os.path.join(tmp, "demo.html")
    run_ktpviz(page, [os.path.join(DATA, n + ".pcap")
                      for n in ("greeting", "halfclose")],
               [os.path.join(DATA, n + ".trace")
                for n in ("greeting", "halfclose")],
               ["--title", "make demo", "-l", "7000=scene 1: connect, "
                "exchange a greeting, close", "-l", "7001=scene 2: "
                "half-close"])
    width, height = 1960, 1300
    b.open("file://" + page, width, height)
    secs = json.loads(b.eval(SUMMARY))
    shots = [b.screenshot(0, s["top"], width, height) for s in secs]
    shares, rows = [], []
    for png in shots:
        share, r = non_white(png)
        shares.append(share)
        rows.append(r)
    t.ok(len(secs) == 2 and all(0.02 < v < 0.9 for v in shares),
         "demo_screenshots_not_blank",
         "%d scenes, inked share %s" % (len(secs), shares))
    diff = 0
    if len(rows) == 2:
        diff = sum(a != b for ra, rb in zip(*rows) for a, b in zip(ra, rb))
    t.ok(diff > 0.01 * width * height * 3, "demo_scenes_differ",
         "%d bytes differ" % diff)
    dest = os.environ.get("KTPVIZ_SCREENSHOT")
    if dest:
        b.open("file://" + page, width, height)
        with open(dest, "wb") as f:
            f.write(b.screenshot(0, 0, width, height, 0.6))


def write_bulk(path, total=10 << 20, loss=0.05, seed=9293):
    """A 10 MiB transfer under 5 % loss, as ktpdump on the receiver's
    loopback would record it (headers only, lost segments absent): one
    window of segments a round trip, SACKed, sent again the next round,
    the window halved after a loss. Returns (data segments recorded,
    segments lost, recorded copies of segments sent before below the
    highest one recorded)."""
    rnd = random.Random(seed)
    mss, rtt, isn_c, isn_s = 1448, 0.02, 1000, 5000
    recs = []

    def seg(t, src, seq, ack, flags, ln, sack=()):
        opt = b""
        if sack:
            opt = b"\x01\x01\x05" + bytes([2 + 8 * len(sack)]) + b"".join(
                struct.pack("!II", a, z) for a, z in sack)
        doff = 5 + len(opt) // 4
        sport, dport = (40000, 7000) if src == "c" else (7000, 40000)
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff,
                          ack & 0xffffffff, doff, flags, 16384, 0, 0) + opt
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(hdr) + ln, 0,
                         0x4000, 64, 253, 0, bytes([127, 0, 0, 1]),
                         bytes([127, 0, 0, 1])) + hdr
        recs.append((t, ip, 20 + len(hdr) + ln))

    t = 0.0
    seg(t, "c", isn_c, 0, 0x02, 0)
    seg(t + rtt / 2, "s", isn_s, isn_c + 1, 0x12, 0)
    seg(t + rtt, "c", isn_c + 1, isn_s + 1, 0x10, 0)
    nseg = (total + mss - 1) // mss
    got, lost_now, nxt, cwnd = set(), [], 0, 10
    recorded = lost = again = 0
    sent, high = set(), -1
    t = rtt
    while len(got) < nseg:
        todo = lost_now + list(range(nxt, min(nxt + cwnd - len(lost_now),
                                              nseg)))
        nxt = max(nxt, todo[-1] + 1) if todo else nxt
        lost_now = []
        for k, n in enumerate(todo):
            ts = t + k * (rtt / 2) / max(len(todo), 1)
            ln = min(mss, total - n * mss)
            before, _ = n in sent, sent.add(n)
            if rnd.random() < loss:
                lost_now.append(n)
                lost += 1
                continue
            seg(ts + rtt / 2, "c", isn_c + 1 + n * mss, isn_s + 1, 0x18, ln)
            recorded += 1
            again += before and n < high
            high = max(high, n)
            got.add(n)
            cum = 0
            while cum in got:
                cum += 1
            ahead = sorted(m for m in got if m > cum)[-3:]
            blocks = [(isn_c + 1 + m * mss, isn_c + 1 + (m + 1) * mss)
                      for m in ahead]
            seg(ts + rtt / 2 + 0.0001, "s", isn_s + 1,
                isn_c + 1 + min(cum * mss, total), 0x10, 0, blocks[::-1])
        cwnd = max(cwnd // 2, 2) if lost_now else min(cwnd + 1, 120)
        t += rtt
    end = isn_c + 1 + total
    seg(t, "c", end, isn_s + 1, 0x11, 0)
    seg(t + rtt / 2, "s", isn_s + 1, end + 1, 0x11, 0)
    seg(t + rtt, "c", end + 1, isn_s + 2, 0x10, 0)
    recs.sort(key=lambda r: r[0])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for ts, ip, wire in recs:
            sec = int(1e9 + ts)
            usec = int(round((1e9 + ts - sec) * 1e6)) % 1000000
            f.write(struct.pack("<IIII", sec, usec, len(ip), wire) + ip)
    return recorded, lost, again


def check_bulk(t, b, tmp):
    pcap = os.path.join(tmp, "bulk.pcap")
    recorded, lost, again = write_bulk(pcap)
    page = os.path.join(tmp, "bulk.html")
    start = time.monotonic()
    run_ktpviz(page, [pcap])
    made = time.monotonic() - start
    best = min(b.open("file://" + page, 1600, 1000) for _ in range(3))
    secs = json.loads(b.eval(SUMMARY))
    tsg = secs[0]["tsg"][0] if secs and secs[0]["tsg"] else {}
    t.ok(best < RENDER_BOUND and tsg.get("shown", 0) > 0,
         "bulk_10MiB_5pct_loss_renders_in_2s",
         "render %.2f s (page made in %.1f s)" % (best, made))
    print("# 10 MiB, %d data segments recorded, %d lost: page made in "
          "%.1f s, rendered in %.2f s" % (recorded, lost, made, best))
    t.ok(tsg.get("data", 0) + tsg.get("again", 0) == recorded and
         tsg.get("again") == again, "bulk_retransmissions_counted",
         "graph %s; %d recorded, %d lost, %d sent again" % (
             tsg, recorded, lost, again))
    t.ok(0 < tsg.get("nodes", 1 << 30) < 400, "bulk_graph_thinned",
         "%s SVG nodes" % tsg.get("nodes"))


def check_pcapng(t, b, tmp):
    """The same capture as pcapng draws the same arrows."""
    src = os.path.join(DATA, "retransmit.pcap")
    ng = os.path.join(tmp, "retransmit.pcapng")
    subprocess.run(["editcap", "-F", "pcapng", src, ng], check=True,
                   timeout=60, capture_output=True)
    got = []
    for cap in (src, ng):
        page = os.path.join(tmp, "ng.html")
        run_ktpviz(page, [cap])
        b.open("file://" + page, 1600, 1000)
        got.append([g["label"] for s in json.loads(b.eval(SUMMARY))
                    for g in s["segs"]])
    t.ok(got[0] == got[1] and got[0], "pcapng_drawn_as_pcap",
         "%d and %d arrows" % tuple(map(len, got)))


def main():
    t = Ktap(len(CASES) * 4 + 2 + 2 + 3 + 1)
    tmp = tempfile.mkdtemp(prefix="ktpviz-test.")
    b = kb.Browser()
    try:
        for name in CASES:
            secs = check_case(t, b, tmp, name)
            if name == "retransmit":
                check_kinds(t, secs, name, "retrans", "sent_again")
            elif name == "reset":
                check_kinds(t, secs, name, "rst", "rst")
        check_demo(t, b, tmp)
        check_bulk(t, b, tmp)
        check_pcapng(t, b, tmp)
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
