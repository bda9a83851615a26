"""Hypothesis profiles: 'ci' (when CI is set) tries more examples; neither has a deadline.

tests/golden/ holds the script that made the golden vectors with torch: not a test module.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

collect_ignore = ["golden"]
