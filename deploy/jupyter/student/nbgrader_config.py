"""nbgrader in a student's server on the hub: the course and the exchange the hub prepared."""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "backprop-course"
c.Exchange.root = os.environ["BACKPROP_COURSE_EXCHANGE"]  # set by the hub for every server
