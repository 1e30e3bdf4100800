"""asurso-sync: mirror, check, report and archive a school's АСУ РСО e-journal."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("asurso-sync")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
