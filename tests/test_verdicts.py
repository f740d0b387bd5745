"""Helpers of nncheck.verdicts: what a student reads when a value is not what was asked for."""
import numpy as np
import pytest


def test_a_tuple_returned_for_an_array_is_named_as_a_tuple():
    """backward returning (grad_input, reg_loss) was reported as 'returned a string' (the worker's
    description of the tuple): say it is a tuple and what to do."""
    from nncheck.model import Fail
    from nncheck.probes import array_or_description
    from nncheck.verdicts import as_array

    with pytest.raises(Fail) as raised:
        as_array(array_or_description((np.ones(2), 0.5)), "Dense_L2.backward(x, g)")
    result = raised.value.result
    assert result.message.startswith("Dense_L2.backward(x, g) returned a tuple (")
    assert "not one array" in result.message and "attribute" in result.hint
    with pytest.raises(Fail) as raised:
        as_array("abc", "f(x)")
    assert raised.value.result.message == "f(x) returned a string, not an array: 'abc'"
