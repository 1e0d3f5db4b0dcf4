# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action group's option set and how a module that ignores some of them takes them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common import _argspec as spec


def test_the_group_is_the_connection_options_and_project_id():
    assert set(spec.GROUP) == set(spec.APIG_CONNECTION) | set(spec.ETCD_CONNECTION) | {'project_id'}


@pytest.mark.parametrize('name', sorted(spec.GROUP))
def test_an_ignored_option_keeps_its_type_and_secrecy_but_reads_nothing(name):
    option, ignored = spec.GROUP[name], spec.ignored(name)[name]
    assert ignored.get('type') == option.get('type') and ignored.get('elements') == option.get('elements')
    # A secret stays no_log even where it is ignored: module_defaults would show it otherwise.
    assert ignored.get('no_log') == option.get('no_log')
    assert not set(ignored) & {'default', 'fallback', 'choices', 'required'}
