"""Kernel creation and destruction on top of the stage pipeline."""
