"""Real and fake peers for the test suite, kept in one place and reused by every app's tests."""
