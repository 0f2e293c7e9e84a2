"""nbgrader in an instructor's server on the hub: the course is the instructor's checkout, with
its own nbgrader_config.py, and the exchange is the one the hub prepared."""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

# The server starts in the instructor's home, where nbgrader looks for nbgrader_config.py
# first: the formgrader must read the checkout's.
load_subconfig(os.path.join(os.environ["BACKPROP_COURSE_ROOT"], "nbgrader_config.py"))  # noqa: F821
c.Exchange.root = os.environ["BACKPROP_COURSE_EXCHANGE"]  # set by the hub for every server
# The course's folder in the exchange belongs to the instructors' group, not to one of them.
c.CourseDirectory.groupshared = True
