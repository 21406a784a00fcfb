"""Imported late by late_import.py."""


def legacy_path(i):
    return i * 2


def modern_path(i):
    return i + 1
