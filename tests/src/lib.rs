//! Test harness lives in the suites.
