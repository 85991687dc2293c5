#!/usr/bin/env python3
"""What systemd does for a socket-activated service, for tests: bind named listening sockets on
127.0.0.1 (free ports), print them as JSON on one line, run COMMAND with them as fds 3, 4, …
(LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID), restart it on SIGHUP (SIGTERM, wait, run again, the
sockets staying open so connections wait in their backlog), and stop it on SIGTERM.

usage: socket-activate.py NAME[,NAME…] COMMAND [ARG…]"""
import json
import os
import signal
import socket
import sys
import time

names = sys.argv[1].split(",")
command = sys.argv[2:]
sockets = []
for _ in names:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(511)
    sockets.append(s)
# Out of the way of 3, 4, … before the child moves them there.
high = [os.dup2(s.fileno(), 100 + i, inheritable=False) for i, s in enumerate(sockets)]
print(json.dumps({n: s.getsockname()[1] for n, s in zip(names, sockets)}), flush=True)


def run():
    pid = os.fork()
    if pid == 0:
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i, inheritable=True)
        env = dict(os.environ)
        env.update(LISTEN_FDS=str(len(high)), LISTEN_FDNAMES=":".join(names), LISTEN_PID=str(os.getpid()))
        os.execvpe(command[0], command, env)
    return pid


child = run()
restart = False
stop = False


def on_hup(*_):
    global restart
    restart = True


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, on_term)
while True:
    time.sleep(0.05)
    if not (restart or stop):
        done, status = os.waitpid(child, os.WNOHANG)
        if done:  # the service ended by itself
            sys.exit(os.waitstatus_to_exitcode(status))
        continue
    os.kill(child, signal.SIGTERM)
    os.waitpid(child, 0)
    if stop:
        sys.exit(0)
    restart = False
    child = run()
    print("restarted", flush=True)
