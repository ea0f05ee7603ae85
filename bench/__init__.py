"""Fleet generator and benchmark: `python -m bench` renders synthetic fleets and reports timings."""
