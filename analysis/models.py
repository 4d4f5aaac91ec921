"""Analysis runs and their stored results (built on surveys)."""
