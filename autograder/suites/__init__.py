"""Hidden suites, one module per lesson: loaded only by the trusted grader, never shipped to students."""
