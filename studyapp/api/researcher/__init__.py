"""Researcher endpoints: studies, images, and each study's labelled set and responses."""
