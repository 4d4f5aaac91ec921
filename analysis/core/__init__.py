"""Pure numeric core of the opportunity engine: numpy, scipy and scikit-learn only, no Django.

Input convention
================

Ratings come as two ``uint8`` matrices of the same shape ``(n_respondents, n_outcomes)``:

``importance``
    How important each outcome is to each respondent, 1–5.
``satisfaction``
    How satisfied each respondent is with how well each outcome is met today, 1–5.

``0`` means *unanswered* in both. Column ``j`` of both matrices is the same outcome; row ``i`` of
both is the same respondent. Other dtypes are accepted and converted with ``np.asarray(...,
dtype=np.uint8)`` semantics after a range check.

Respondent subsets (segments, comparison groups) are given as ``rows``: either a boolean mask of
shape ``(n_respondents,)`` or an integer index array. ``rows=None`` means everyone.

All randomness takes ``seed``: an ``int`` or a ``numpy.random.Generator`` passed in by the caller;
nothing reads global random state. Results are frozen dataclasses holding numpy arrays (or plain
floats and ints), never rounded.

Modules
=======

``scoring``    top-two-box importance, satisfaction, opportunity, bands, alternative scores
``bootstrap``  percentile bootstrap intervals and rank stability
``compare``    group A vs group B differences in opportunity, p-values, Benjamini–Hochberg q-values
``segments``   outcome-based segmentation with stability and a "no segments" verdict
``profile``    segment profiles: size, own ranking, distinctive outcomes, categorical answers, names
``drivers``    drivers of loyalty (Johnson's relative weights), NPS and CES
``synthetic``  a planted-segment data generator for tests and benchmarks
``numbers``    finite floats or None, as results are stored and shown
"""

from __future__ import annotations
