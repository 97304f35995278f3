"""mesoslab: a hands-on lab for learning Apache Mesos."""

__version__ = "0.1.0"
