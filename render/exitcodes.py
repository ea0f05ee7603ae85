"""Exit codes of every `dataplane` command, defined once (README.md, "Exit codes", lists them).

0 ok; 1 output is stale (render --check), a check failed or found something;
2 invalid input or a refused request (a Problem: a file, a flag or the checkout's state);
3 internal error (a bug: please report it); 4 an optional package the command needs is
not installed (the message names it and the extra that brings it).
"""

OK = 0
FAILED = 1  # stale output, a failed check, a finding, a halted rollout
INVALID = 2  # the user's to fix: printed as problems
INTERNAL = 3  # a bug in dataplane
MISSING_PACKAGE = 4  # an optional package is not installed: not a failed check
INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT

# The pip extra that brings each optional package (pyproject.toml [project.optional-dependencies]).
EXTRAS = {"kubernetes": "ops", "kubernetes_validate": "conformance", "ray": "conformance", "celery": "conformance",
          "yamllint": "conformance", "nca": "conformance", "celpy": "conformance"}


def missing_package_message(command: str, package: str) -> str:
    extra = EXTRAS.get(package, "dev")
    return f"dataplane {command}: needs the Python package {package!r}, which is not installed: pip install -e '.[{extra}]'"
