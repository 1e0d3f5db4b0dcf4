# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The action plugin of the modules that read a ``src`` file: find it the way ``copy`` does.

A relative ``src`` is searched for on the controller in the role's ``files/``, the
playbook's directory and ``files/`` beside it (``ActionBase._find_needle``). The module
then gets a path it can open on its own host: the file itself when the module runs on the
controller, or a copy put into the task's remote temporary directory (removed after the
task) when it runs on another host. The file is never read here, only found and
transferred: parsing a 10,000-API source is the module's job, done once.

A vault-encrypted file is decrypted on the controller, as ``copy`` does, into a temporary file
of the loader (removed after the task) that is then transferred like any other, also when the
module runs on the controller: the module only ever reads plain text, and the decrypted copy
lives no longer than the task. Without the vault secret the task fails before the module runs.

An absolute ``src`` that exists on the controller is treated the same way. One that does
not is handed to the module unchanged, to be read on the module's host: that is how an
absolute path always behaved, and it is how a file that only the remote host has is named.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


class _VaultError(Exception):
    """A vault-encrypted src that the controller cannot decrypt."""


class SourceFileAction(ActionBase):
    """Base of the action plugins of apigw_router_refresh and apigw_router_info."""

    _supports_check_mode = True
    _supports_async = True

    def uses_src(self, args):
        """Whether the module would read ``src`` with these arguments (subclasses narrow it)."""
        return True

    def run(self, tmp=None, task_vars=None):
        result = super(SourceFileAction, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        wrap_async = self._task.async_val and not self._connection.has_native_async
        args = dict(self._task.args)
        src = args.get('src')
        plain = None
        try:
            if isinstance(src, str) and src and self.uses_src(args):
                found = self._find_on_controller(src)
                if found is not None:
                    plain = self._decrypted(src, found)
                    if plain == found and self._runs_on_controller():
                        args['src'] = found
                    else:
                        # Under the name found: the module tells JSON from YAML by its extension.
                        args['src'] = self._transfer_source(plain, os.path.basename(found))
            result = merge_hash(result, self.execute(args, task_vars, wrap_async))
        except AnsibleFileNotFound as exc:
            result.update(failed=True, msg=self._not_found_message(src, exc))
        except _VaultError as exc:
            result.update(failed=True, msg=str(exc))
        finally:
            if plain is not None:
                self._loader.cleanup_tmp_file(plain)
            if not wrap_async:
                # The async wrapper removes the directory itself when the module is done.
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def execute(self, args, task_vars, wrap_async):
        """The module's result for ``args`` (subclasses may run it otherwise)."""
        return self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async)

    def _find_on_controller(self, src):
        """The controller's path of ``src``, or None for an absolute path the controller lacks."""
        if os.path.isabs(os.path.expanduser(src)):
            path = os.path.expanduser(src)
            return path if os.path.exists(path) else None
        return self._find_needle('files', src)

    def _decrypted(self, src, path):
        """``path`` itself, or for a vault-encrypted file a decrypted temporary copy (as ``copy``)."""
        if os.path.isdir(path):
            return path
        try:
            return self._loader.get_real_file(path, decrypt=True)
        except AnsibleError as exc:
            # The loader's message names the file and the missing secret, never a secret.
            raise _VaultError('src %s could not be decrypted on the controller: %s; give the vault password '
                              '(--vault-password-file, --ask-vault-pass or --vault-id)'
                              % (src, to_text(getattr(exc, 'message', None) or exc)))

    def _runs_on_controller(self):
        # The local connection runs modules on the controller; so do network-style connections.
        return self._connection.transport == 'local' or getattr(self._connection, '_remote_is_local', False)

    def _transfer_source(self, path, name=None):
        """Put the controller's file into the remote temporary directory, as ``name`` (default: its
        own); return its remote path."""
        if os.path.isdir(path):
            # Let the module report it as it reports any directory, instead of a failed transfer.
            return path
        shell = self._connection._shell
        if shell.tmpdir is None:
            self._make_tmp_path()
        # The name is kept: the module tells JSON from YAML by the file's extension.
        remote = shell.join_path(shell.tmpdir, name or os.path.basename(path))
        self._transfer_file(path, remote)
        self._fixup_perms2((shell.tmpdir, remote))
        return remote

    @staticmethod
    def _not_found_message(src, exc):
        paths = getattr(exc, 'paths', None) or []
        return ('src %s was not found on the controller; looked in: %s'
                % (src, ', '.join(to_text(p) for p in paths) or 'no search path'))
