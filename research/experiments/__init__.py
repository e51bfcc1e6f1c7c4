"""Experiments built on the training code: protocol, reports, studies."""
