"""Performance and quality benchmarks: they print figures; nothing here is asserted in unit tests."""
