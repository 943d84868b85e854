"""`SharePerPeriod`, an nbgrader late-penalty plugin: a share of the score per hour or day started
after the due date, capped. Named in nbgrader_config.py, so plain `nbgrader autograde` applies it
too:

    c.AssignLatePenalties.plugin_class = "cnncourse.grading.run.late_penalty.SharePerPeriod"

Its own module, because it subclasses nbgrader's plugin: the grading run imports nbgrader only
where it calls it (deadlines.py, which the driver imports, stays free of it).
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float, TraitError, validate

PERIOD_SECONDS = {"hour": 3600, "day": 86400}


class SharePerPeriod(LateSubmissionPlugin):
    """A share of the score per hour or day started after the due date, capped."""

    share = Float(0.1, help="share of the score taken per period started late").tag(config=True)
    period = Enum(("hour", "day"), default_value="day", help="hour or day").tag(config=True)
    cap = Float(1.0, help="largest share of the score taken (1: all of it)").tag(config=True)

    @validate("share", "cap")
    def _a_share(self, proposal):
        if not 0 <= proposal["value"] <= 1:
            name = proposal["trait"].name
            raise TraitError(f"SharePerPeriod.{name} must be in [0, 1], got {proposal['value']}")
        return proposal["value"]

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        periods = math.ceil(total_seconds_late / PERIOD_SECONDS[self.period])
        return score * min(self.cap, self.share * periods)
