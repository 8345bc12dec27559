"""In-plane needle detection, tracking and proximity warnings in the ultrasound image.

* ``config``: ``NeedleConfig`` (section ``[needle]``);
* ``entry``: the full-frame search: lines along which a bright echo runs from where they enter
  the imaged field (Page's CUSUM over every entering line, quarter resolution);
* ``strip``: a shaft measured in a straightened band along a line hypothesis (RANSAC centre
  line, extent from the entry, tip where the echo ends);
* ``detect``: single-frame detection (entering lines measured as shafts);
* ``motion``: the anatomy's displacement in the image (median Lucas-Kanade flow), so that
  advance is judged relative to the tissue;
* ``needle_tracker``: ``NeedleTracker.update(...) -> NeedleResult`` (candidates, confirmation by
  advance, Kalman, narrow-band tracking, path, proximity);
* ``proximity``: distances to nerve/vessel contours in mm and the safe/caution/stop level.

The evaluation on phantom sequences (``sonoguide needle eval``) is research: :mod:`research.needle`.
"""
