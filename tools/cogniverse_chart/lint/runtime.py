"""Run-time faults decidable from the stream (filled in below)."""
