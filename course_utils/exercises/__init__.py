"""The chapters' exercises: one module of checks per chapter, on the shared `checking` tools.

A check runs the student's function on fresh random inputs, compares it with a reference, and
prints one line: PASS, FAIL (with the numbers that explain it) or NOT DONE (the stub is still
there). `checking` holds what every check shares; `chNN` modules hold one chapter's checks.
"""
