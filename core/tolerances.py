"""Numerical tolerances, in one place."""

EPS_NORM = 1e-12
"""Below this a vector or quaternion length counts as zero."""

EPS_FRAME = 1e-9
"""Two keyframe times closer than this are the same frame."""

MAX_ABS_COORD_M = 1e6
"""Positions beyond a thousand kilometres are rejected as typos."""
