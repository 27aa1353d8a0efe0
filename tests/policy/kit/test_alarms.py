"""The ranges an alarm's metric lies in (mlstack/policy/kit/alarms.py) are the facts they are
taken from: what mlstack's drift job can publish, and botocore's invocation timeouts."""

from __future__ import annotations

import math

import pytest

from mlstack.policy.kit.alarms import ASYNC_TIMEOUT_SECONDS, KL_MAX, PSI_MAX, REALTIME_TIMEOUT_SECONDS


def test_drift_bounds_are_what_the_drift_job_can_publish():
    import numpy as np

    from mlstack.drift import stats
    from mlstack.policy.kit import alarms

    assert stats.EPSILON == pytest.approx(1e-6)
    assert alarms.EPSILON == stats.EPSILON
    # The extreme: all production data in one bucket, all baseline data in another.
    for k in (2, 3, 12, 102):
        actual, expected = np.zeros(k), np.zeros(k)
        actual[0], expected[-1] = 1000, 1000
        assert stats.psi(actual, expected) <= PSI_MAX
        assert stats.kl_divergence(actual, expected) <= KL_MAX
    actual, expected = np.array([1000.0, 0.0]), np.array([0.0, 1000.0])
    assert stats.psi(actual, expected) == pytest.approx(PSI_MAX, rel=1e-9)
    assert stats.kl_divergence(actual, expected) == pytest.approx(KL_MAX, rel=1e-9)
    assert math.isclose(PSI_MAX, 2 * KL_MAX) and 27 < PSI_MAX < 28


def test_invocation_timeouts_are_botocores():
    import re

    import botocore.session

    runtime = botocore.session.get_session().get_service_model("sagemaker-runtime")
    realtime = runtime.operation_model("InvokeEndpoint").documentation
    assert f"within {REALTIME_TIMEOUT_SECONDS} seconds" in re.sub(r"<[^>]+>", "", realtime)
    timeout = runtime.operation_model("InvokeEndpointAsync").input_shape.members["InvocationTimeoutSeconds"]
    assert timeout.metadata["max"] == ASYNC_TIMEOUT_SECONDS
