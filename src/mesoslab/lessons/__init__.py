"""Lessons: the Markdown lesson format, its loader and the lesson catalogue."""
