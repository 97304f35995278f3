"""The check catalogue and the runner that settles checks against a live cluster.

A check kind is a function registered with :func:`mesoslab.checks.registry.check`. It makes
*one attempt* and returns an :class:`~mesoslab.checks.result.Observation`; the runner retries
it until it passes or its timeout expires, and turns every transport problem into a ``fail``
with a precise summary.
"""
