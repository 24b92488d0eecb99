"""Homework: worksheets and their keys, reading filled sheets, grading tables and student code (run in a
sandboxed child process), and the feedback, rosters and autograder files."""
