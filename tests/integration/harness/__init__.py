# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Helpers that start the real servers (simulator, etcd) the integration tests run against."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type
