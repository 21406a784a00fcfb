"""chatdemo: a small chat backend in the middle of a migration.

It models the motivating case for pyscope: a legacy ExecutionEngine API being
replaced by per-user UserExecutionEngine objects.  Standard library only;
runs on CPython 3.8 to 3.13.
"""
