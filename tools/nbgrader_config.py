"""nbgrader's configuration for grading the course's chapters. Copy this file into your
nbgrader course folder (the one with source/, release/, submitted/), as nbgrader_config.py.

- The solution markers are the course's: `### BEGIN SOLUTION` / `### END SOLUTION`.
- COURSE_GRADING=1 reaches the kernels nbgrader starts: a check that does not pass then raises,
  so its cell scores 0. Without it the checks only print, and every check cell would score.
- COURSE_MODE=quick (unless you set COURSE_MODE yourself) grades on the small offline data,
  in minutes; full mode would retrain every chapter on the real data for every submission.
"""

import os

os.environ["COURSE_GRADING"] = "1"
os.environ.setdefault("COURSE_MODE", "quick")

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "keras-cv-course"
c.ClearSolutions.begin_solution_delimeter = "### BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "### END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.timeout = 900  # seconds per cell: chapters train small networks
