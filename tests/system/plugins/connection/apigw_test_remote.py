# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# Test-only: not shipped.

from __future__ import annotations

DOCUMENTATION = """
    name: apigw_test_remote
    short_description: a "remote" host on this machine, for tests of file transfers
    description:
        - Runs commands like the local connection, but is not the local connection, so that Ansible treats the
          host as remote - it makes a remote temporary directory and transfers files with put_file - and logs
          every put_file as a JSON line to the file named by APIGW_TEST_TRANSFER_LOG.
        - This lets the tests see the transfer path of the collection's action plugins without an SSH server.
    author: apigw.router maintainers (@apigw-router)
    options:
        become_success_timeout:
            type: int
            default: 10
            description: As for the local connection.
        become_strip_preamble:
            type: bool
            default: true
            description: As for the local connection.
    extends_documentation_fragment:
        - connection_pipelining
"""

import json
import os

from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    """The local connection under another name: Ansible does not take it for the controller."""

    transport = 'apigw_test_remote'
    _remote_is_local = False

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        log = os.environ.get('APIGW_TEST_TRANSFER_LOG')
        if log:
            with open(log, 'a', encoding='utf-8') as f:
                f.write(json.dumps({'in_path': in_path, 'out_path': out_path}) + '\n')
