"""In-plane needle detection, tracking and proximity warnings in the ultrasound image.

* ``config``: ``NeedleConfig`` (section ``[needle]``);
* ``detect``: ridge filter, Hough/RANSAC shaft, tip where the echo ends;
* ``tracker``: ``NeedleTracker.update(...) -> NeedleResult`` (association, Kalman, path, proximity);
* ``proximity``: distances to nerve/vessel contours in mm and the safe/caution/stop level;
* ``evaluate`` / ``report`` / ``cli``: ``sonoguide needle eval`` on phantom sequences.
"""
