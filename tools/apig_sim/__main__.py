# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Command line: ``python -m apig_sim --config FILE --port N [--host H] [--log FILE] [--tls-cert C --tls-key K]``.

Prints ``apig_sim listening on http://HOST:PORT`` once the socket listens and, with
``--port-file``, writes the port there (atomically), so a test that asked for
``--port 0`` learns the port without racing. Stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import os
import signal
import sys
import threading

from apig_sim import __version__, hooks
from apig_sim.config import ConfigError, load
from apig_sim.server import serve


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m apig_sim",
        description="Local simulator of the Huawei Cloud APIG management plane.")
    parser.add_argument("--config", required=True, help="YAML config (see README.md)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: keep it on loopback)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--port-file", help="write the chosen port to this file once listening")
    parser.add_argument("--log", help="append the request log here, one JSON object a line")
    parser.add_argument("--verbose", action="store_true", help="access log lines on stderr")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert (if not in the same file)")
    parser.add_argument("--etcd-endpoints", default="",
                        help="comma-separated etcd endpoints: a refresh of apis writes the routes there")
    parser.add_argument("--etcd-key-prefix", default="/apig/router", help="key prefix of the routes in etcd")
    parser.add_argument("--etcd-timeout", type=float, default=5.0, help="seconds per etcd request")
    parser.add_argument("--version", action="version", version="apig_sim " + __version__)
    return parser.parse_args(argv)


def _write_port_file(path, port):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write("%d\n" % port)
    os.replace(tmp, path)      # readers never see a half-written file


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load(args.config)
    except ConfigError as exc:
        sys.stderr.write("apig_sim: bad config: %s\n" % exc)
        return 2
    hooks.configure([e for e in args.etcd_endpoints.split(",") if e], args.etcd_key_prefix, args.etcd_timeout)
    try:
        server, thread = serve(config, args.host, args.port, log_path=args.log,
                               verbose=args.verbose, tls_cert=args.tls_cert, tls_key=args.tls_key)
    except OSError as exc:  # the port, or (ssl.SSLError, missing file) the TLS certificate or key
        sys.stderr.write("apig_sim: cannot serve on %s:%s: %s\n" % (args.host, args.port, exc))
        return 1
    host, port = server.server_address[:2]
    stop = threading.Event()

    def _stop(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.port_file:
        _write_port_file(args.port_file, port)
    print("apig_sim listening on %s://%s:%d" % ("https" if args.tls_cert else "http", host, port), flush=True)
    try:
        # Wake up now and then: a signal handler only runs between bytecodes.
        while not stop.wait(0.5) and thread.is_alive():
            pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
