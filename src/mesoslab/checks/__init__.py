"""What is checked: the check catalogue and the runner that settles checks against a live
cluster. How a request travels is :mod:`mesoslab.remote`'s business.

A check kind is a function in :mod:`mesoslab.checks.kinds` registered with
:func:`mesoslab.checks.registry.check`. It makes
*one attempt* and returns an :class:`~mesoslab.checks.result.Observation`; the runner retries
it until it passes or its timeout expires, and turns every transport problem into a ``fail``
with a precise summary.
"""
