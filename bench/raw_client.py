# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The floor: one client library alone writing precomputed route key/values to etcd.

Run as its own process, one per library (pyetcd and etcd3 register the same protobuf
descriptors and cannot share a process):

    python bench/raw_client.py --library pyetcd --endpoint 127.0.0.1:2379 \
        --data kv.json --prefix /bench/x --mode txn --batch 128

``kv.json`` is a JSON list of ``[key suffix, value]`` pairs (the canonical route records
the module would write). ``--mode txn`` writes them with the library's high-level
``transaction()`` in batches of ``--batch`` unconditional puts; ``--mode put`` calls
``put()`` once per key for the first ``--limit`` keys (what a per-key module does).

Prints one JSON object: the timestamps of the phases (seconds since the process's
interpreter started: import, load, connect, write), the keys written and the peak RSS of
this process (``ru_maxrss``).
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import resource
import sys
import time

T0 = time.monotonic()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--library', choices=('pyetcd', 'etcd3'), required=True)
    parser.add_argument('--endpoint', required=True, help='host:port')
    parser.add_argument('--data', required=True)
    parser.add_argument('--prefix', required=True)
    parser.add_argument('--mode', choices=('txn', 'put'), default='txn')
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--limit', type=int, default=0, help='write only the first N keys (0: all)')
    args = parser.parse_args(argv)

    if args.library == 'etcd3':
        # python-etcd3's generated code needs protobuf's pure-Python implementation with
        # protobuf >= 4 (see TOOLING_NOTES.md); the module does the same.
        os.environ.setdefault('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION', 'python')
        import etcd3 as lib
    else:
        import pyetcd as lib
    from google.protobuf.internal import api_implementation
    t_import = time.monotonic()

    with open(args.data, 'rb') as handle:
        pairs = json.loads(handle.read().decode('utf-8'))
    if args.limit:
        pairs = pairs[:args.limit]
    items = [((args.prefix + key).encode('utf-8'), value.encode('utf-8')) for key, value in pairs]
    t_load = time.monotonic()

    host, _sep, port = args.endpoint.rpartition(':')
    client = lib.client(host=host, port=int(port), timeout=30)
    client.status()  # connect (and make sure the member answers) before timing the writes
    t_connect = time.monotonic()

    if args.mode == 'txn':
        put = client.transactions.put
        for start in range(0, len(items), args.batch):
            chunk = items[start:start + args.batch]
            ok, _responses = client.transaction(compare=[], success=[put(k, v) for k, v in chunk], failure=[])
            if not ok:
                raise SystemExit('transaction failed')
        requests = (len(items) + args.batch - 1) // args.batch
    else:
        for key, value in items:
            client.put(key, value)
        requests = len(items)
    t_write = time.monotonic()
    client.close()

    print(json.dumps({
        'library': args.library,
        'protobuf': api_implementation.Type(),
        'mode': args.mode,
        'keys': len(items),
        'requests': requests,
        'import_s': t_import - T0,
        'load_s': t_load - t_import,
        'connect_s': t_connect - t_load,
        'write_s': t_write - t_connect,
        'total_s': t_write - T0,
        'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main())
