"""Behaviour.with_draws: the one way parameter draws become a Behaviour."""

import re

import numpy as np
import pytest

from model.behaviour import Behaviour


def test_a_batch_of_draws_gives_one_replicate_per_row_and_keeps_the_rest():
    base = Behaviour(habit=1.5)
    thetas = np.array([[1.0, 0.1], [2.0, 0.2], [3.0, 0.3]])
    beh = base.with_draws(("w_trust", "trust_gain_hit"), thetas)
    assert np.array_equal(beh.w_trust, [1.0, 2.0, 3.0])
    assert np.array_equal(beh.trust_gain_hit, [0.1, 0.2, 0.3])
    assert beh.habit == 1.5 and beh.w_social == Behaviour().w_social


def test_single_values_stay_floats():
    truth = {"w_trust": 2.5, "habit": 1.0}
    assert Behaviour().with_draws(truth, list(truth.values())) == Behaviour(w_trust=2.5, habit=1.0)


def test_ignored_names_skip_their_column():
    beh = Behaviour().with_draws(("steps_per_period", "habit"), [[4.0, 2.0]], ignore=("steps_per_period",))
    assert np.array_equal(beh.habit, [2.0])


@pytest.mark.parametrize(("names", "draws", "message"), [
    (("w_trsut",), [1.0], "behaviour.w_trsut: unknown parameter"),
    (("w_trust", "habit"), [[1.0]], "draws of shape (1, 1): need one column per name (2)"),
])
def test_bad_draws_are_refused(names, draws, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Behaviour().with_draws(names, draws)
