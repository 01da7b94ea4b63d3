#!/usr/bin/env python3
"""zmq_peer.py -- the independent ZeroMQ peer of the zmq tests (pyzmq, Debian
python3-zmq), never sluice's own code.

  zmq_peer.py send --type push|pub (--bind EP | --connect EP) --count N
        [--topics a,b] [--multipart K] [--size B] [--wait-sub] [--nonblock]
        [--curve-keys F --curve-server-key F] [--start I] [--ready FILE]
      Sends N messages. Each message is "m<i>" (padded to --size bytes;
      with --json the text {"n": <i>}, with --text T the text T), or
      with --topics the two frames [topic, "m<i>"] (topics taken in turn), or
      with --multipart K the K frames ["m<i>", "f1", ...]. --wait-sub (pub)
      uses XPUB and waits for a subscription before sending, so that nothing
      is lost to a slow joiner, and ZMQ_XPUB_NODROP, so that nothing is
      dropped at the high-water mark either. --nonblock counts the sends that found the
      high-water mark (printed as "blocked=N") and waits for room.
      --send-timeout S gives up when one send blocks S seconds (exit 3).
      Prints "sent=N" at the end.

  zmq_peer.py recv --type pull|sub (--bind EP | --connect EP) --count N
        [--timeout S] [--first-timeout S] [--curve-keys F --curve-server-key F]
        [--ready FILE] [--delay-ms D]
      Receives until N messages arrived or S seconds passed without one
      (--first-timeout: how long to wait for the first, default S, so that a
      peer that must stop soon after the last message does not give up
      before the first on a loaded machine); prints each as a JSON list of
      its frames (text), one per line.
      --delay-ms waits that long before reading (a slow consumer).

  --curve-keys F alone makes the peer a CURVE server, with
  --curve-server-key S a client of the server whose public key S holds.

  zmq_peer.py keys DIR NAME...
      Writes NAME.key and NAME.key_secret (pyzmq's certificate format).
"""
import argparse
import json
import os
import sys
import time

import zmq
import zmq.auth

TYPES = {"push": zmq.PUSH, "pub": zmq.PUB, "pull": zmq.PULL, "sub": zmq.SUB}


def curve(sock, args):
    if not args.curve_keys:
        return
    pub, sec = zmq.auth.load_certificate(args.curve_keys)
    sock.curve_publickey = pub
    sock.curve_secretkey = sec
    if not args.curve_server_key:  # a CURVE server (any client key; no ZAP)
        sock.curve_server = True
        return
    srv, _ = zmq.auth.load_certificate(args.curve_server_key)
    sock.curve_serverkey = srv


def attach(sock, args):
    if args.bind:
        sock.bind(args.bind)
    else:
        sock.connect(args.connect)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")


def message(args, i):
    body = (args.text or ('{"n": %d}' % i if args.json else "m%d" % i)).encode()
    if args.size and len(body) < args.size:
        body += b"." * (args.size - len(body))
    if args.topics:
        topics = args.topics.split(",")
        return [topics[i % len(topics)].encode(), body]
    if args.multipart:
        return [body] + [("f%d" % k).encode() for k in range(1, args.multipart)]
    return [body]


def send(args):
    ctx = zmq.Context()
    typ = zmq.XPUB if args.type == "pub" and args.wait_sub else TYPES[args.type]
    sock = ctx.socket(typ)
    sock.sndhwm = args.hwm
    if typ == zmq.XPUB:  # block at the HWM rather than drop: exact counts
        sock.setsockopt(zmq.XPUB_NODROP, 1)
    curve(sock, args)
    attach(sock, args)
    if args.wait_sub:
        if not sock.poll(args.timeout * 1000, zmq.POLLIN):
            print("no subscriber within %ss" % args.timeout, file=sys.stderr)
            return 1
        sock.recv()  # the subscription
        time.sleep(0.2)  # the other subscriptions of the same socket
        while sock.poll(0, zmq.POLLIN):
            sock.recv()
    if args.send_timeout:
        sock.sndtimeo = int(args.send_timeout * 1000)
    blocked = 0
    for i in range(args.start, args.start + args.count):
        frames = message(args, i)
        if args.nonblock:
            while True:
                try:
                    sock.send_multipart(frames, zmq.NOBLOCK)
                    break
                except zmq.Again:
                    blocked += 1
                    sock.poll(100, zmq.POLLOUT)
        else:
            try:
                sock.send_multipart(frames)
            except zmq.Again:  # --send-timeout: a peer that never takes them
                print("sent=%d: send timed out after %ss" % (i - args.start, args.send_timeout))
                sock.close(linger=0)
                ctx.term()
                return 3
    sock.close(linger=args.linger * 1000)
    ctx.term()
    print("sent=%d blocked=%d" % (args.count, blocked))
    return 0


def recv(args):
    ctx = zmq.Context()
    sock = ctx.socket(TYPES[args.type])
    if args.type == "sub":
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    curve(sock, args)
    attach(sock, args)
    if args.delay_ms:
        time.sleep(args.delay_ms / 1000.0)
    got = 0
    first = args.timeout if args.first_timeout is None else args.first_timeout
    while got < args.count:
        if not sock.poll((args.timeout if got else first) * 1000, zmq.POLLIN):
            break
        frames = sock.recv_multipart()
        print(json.dumps([f.decode("utf-8", "replace") for f in frames]), flush=True)
        got += 1
    sock.close(linger=0)
    ctx.term()
    return 0 if got == args.count else 1


def keys(args):
    os.makedirs(args.dir, exist_ok=True)
    for name in args.names:
        _, secret = zmq.auth.create_certificates(args.dir, name)
        os.chmod(secret, 0o600)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("send", "recv"):
        s = sub.add_parser(name)
        s.add_argument("--type", required=True, choices=sorted(TYPES))
        g = s.add_mutually_exclusive_group(required=True)
        g.add_argument("--bind")
        g.add_argument("--connect")
        s.add_argument("--count", type=int, required=True)
        s.add_argument("--timeout", type=float, default=20)
        s.add_argument("--first-timeout", type=float, default=None)
        s.add_argument("--curve-keys")
        s.add_argument("--curve-server-key")
        s.add_argument("--ready")
        s.add_argument("--hwm", type=int, default=1000)
        s.add_argument("--linger", type=int, default=30)
    s = sub.choices["send"]
    s.add_argument("--topics")
    s.add_argument("--multipart", type=int, default=0)
    s.add_argument("--size", type=int, default=0)
    s.add_argument("--start", type=int, default=0)
    s.add_argument("--wait-sub", action="store_true")
    s.add_argument("--json", action="store_true")
    s.add_argument("--text", help="every message's body")
    s.add_argument("--nonblock", action="store_true")
    s.add_argument("--send-timeout", type=float, default=0,
                   help="give up (exit 3) when one send blocks this many seconds")
    sub.choices["recv"].add_argument("--delay-ms", type=int, default=0)
    k = sub.add_parser("keys")
    k.add_argument("dir")
    k.add_argument("names", nargs="+")
    args = p.parse_args()
    return {"send": send, "recv": recv, "keys": keys}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
