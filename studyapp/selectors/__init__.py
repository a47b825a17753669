"""Reads: query functions that views, admin, exports and the analysis loader share."""
