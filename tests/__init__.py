"""Test packages, so that each service's tests may use the same file names (tests/api/enrolment/test_join.py
beside a later tests/api/courses/test_join.py) without pytest's "import file mismatch"."""
