# The README's two commands. Each installs what it needs first.
.PHONY: demo test bootstrap bench

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/onewindow demo $(ARGS)

# pytest exits 5 when it collected no test: that must fail, not pass.
test: bootstrap
	@scripts/run_tests.sh

bench: bootstrap
	.venv/bin/python bench/engine.py --json
