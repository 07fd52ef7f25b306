"""Shared fixtures: the repository root (for the spec, the conformance
corpus and the examples)."""

import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture
def root():
    return ROOT
