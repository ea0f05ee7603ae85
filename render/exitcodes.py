"""Exit codes of every `dataplane` command, defined once.

0 ok; 1 output is stale (render --check), a check failed or found something;
2 invalid input or a refused request (a Problem); 3 internal error (a bug: please report it).
"""

OK = 0
FAILED = 1  # stale output, a failed check, a finding, a halted rollout
INVALID = 2  # the user's to fix: printed as problems
INTERNAL = 3  # a bug in dataplane
INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
