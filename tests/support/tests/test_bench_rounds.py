# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The benchmark's word on a target's rounds (bench/common.py): how many rounds meet it, and
whether the rounds settle it (their spread smaller than the gap of their median to it)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / 'bench'
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from common import against_rounds, settled_text  # noqa: E402  pylint: disable=wrong-import-position


def test_rounds_all_below_the_limit_with_a_small_spread_settle_it():
    rounds = against_rounds([0.40, 0.42, 0.41], 0.5)
    assert (rounds['rounds'], rounds['rounds_met']) == (3, 3)
    assert abs(rounds['spread'] - 0.02) < 1e-9 and abs(rounds['gap'] - 0.09) < 1e-9
    assert rounds['settled'] is True


def test_rounds_on_both_sides_of_the_limit_do_not_settle_it():
    # the best round meets it, the median does not: the verdict of the best is not to be trusted
    rounds = against_rounds([0.48, 0.53, 0.58], 0.5)
    assert rounds['rounds_met'] == 1
    assert rounds['settled'] is False
    assert settled_text({'rounds': rounds}) == (
        '1 of 3 rounds; spread 0.100 >= gap 0.030: not settled, more rounds needed')


def test_a_missed_target_far_from_the_limit_is_settled_in_no_round():
    rounds = against_rounds([2.41, 2.19, 2.48], 1.5)
    assert (rounds['rounds_met'], rounds['settled']) == (0, True)
    assert settled_text({'rounds': rounds}).startswith('0 of 3 rounds; spread 0.290 < gap 0.910: settled')


def test_an_at_least_target_counts_the_rounds_above_it():
    rounds = against_rounds([160.0, 140.0, 155.0], 150.0, at_least=True)
    assert rounds['rounds_met'] == 2
    assert rounds['settled'] is False  # spread 20 >= gap 5


def test_one_round_settles_nothing_and_no_figures_say_so():
    assert against_rounds([0.1], 0.5)['settled'] is False
    assert against_rounds([], 0.5) is None
    assert settled_text({'rounds': None}) == 'no per-round figures'
    assert settled_text({}) == 'no per-round figures'
