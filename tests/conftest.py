"""Shared test configuration.

Hypothesis runs derandomised under the ``ci`` profile whenever ``CI`` is set in
the environment, so a CI run is reproducible; locally the ``dev`` profile
explores new examples each run.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")
