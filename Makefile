# The README's two commands. Each installs what it needs first.
.PHONY: demo test bootstrap bench goldens

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/onewindow demo $(ARGS)

# pytest exits 5 when it collected no test: that must fail, not pass.
test: bootstrap
	@scripts/run_tests.sh

bench: bootstrap
	.venv/bin/python bench/engine.py --json

# Rewrite tests/golden/ from the code (after an intended change; review `git diff tests/golden`).
goldens: bootstrap
	.venv/bin/python -m tests.goldens
