#!/usr/bin/env python3
"""Banned sources knocking, for bench/knock-extension.sh.

Sends TCP SYNs to DST port 22 from COUNT source addresses (198.18.0.0 on,
one after the other, so each source sends RATE / COUNT packets a second)
through a raw socket, paced at RATE packets a second for SECONDS (RATE 0:
as fast as it can). The sources are forged: the packets only have to
reach the server's input hook, where bantam drops them. Run it in the
client namespace; the server needs rp_filter off for the forged sources.

Prints one JSON object: packets sent, seconds, and this process's CPU
(user, system). The system time includes the receiving side: veth hands
the packet to the server's stack in the sender's own system call, so the
server's input hook (and bantam's rules) run on this process's time.
"""

import argparse
import json
import os
import socket
import struct
import time

FIRST = 0xC6120000  # 198.18.0.0
CHUNK = 250


def packets(count, dst):
    out = []
    for i in range(count):
        src = struct.pack("!I", FIRST + i)
        # The kernel fills in the IP checksum and length (IP_HDRINCL); the
        # TCP checksum is never looked at: the packet is dropped before.
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, src, dst)
        tcp = struct.pack("!HHIIBBHHH", 40000 + i % 20000, 22, 1, 0, 0x50, 0x02, 65535, 0, 0)
        out.append(ip + tcp)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dst", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    pkts = packets(args.count, socket.inet_aton(args.dst))
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    send, addr, n = sock.sendto, (args.dst, 0), args.count
    before = os.times()
    start = time.monotonic()
    end = start + args.seconds
    sent = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if args.rate > 0:
            ahead = sent / args.rate - (now - start)
            if ahead > 0:
                time.sleep(min(ahead, 0.005))
                continue
        for k in range(sent, sent + CHUNK):
            send(pkts[k % n], addr)
        sent += CHUNK
    elapsed = time.monotonic() - start
    after = os.times()
    print(json.dumps({
        "sent": sent,
        "seconds": elapsed,
        "user": after.user - before.user,
        "system": after.system - before.system,
    }))


if __name__ == "__main__":
    main()
