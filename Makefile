# Two entry points: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/lab-mixed/capture.pcap
EVENTS := out/demo-events.jsonl
DEMO_DB := out/demo.db
DEMO_PORT ?= 8000

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	@mkdir -p out
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(BIN)/otsight analyze $(EXAMPLE) --events $(EVENTS) --alerts --db $(DEMO_DB)
	@$(BIN)/otsight inventory $(EXAMPLE) --format table
	@$(BIN)/otsight user add demo --role admin --db $(DEMO_DB) >/dev/null
	@echo
	@echo "The capture is 58 s of a lab plant built from real stacks: Modbus PLCs, HMI, engineering"
	@echo "workstation, historian (OPC UA), MQTT sensors, an IP camera, a BACnet controller, DHCP."
	@echo "An attacker at 192.0.2.66 sweeps and scans it, sits in the middle of HMI and PLC (ARP"
	@echo "spoofing), writes registers and forces a PLC into listen-only mode;"
	@echo "examples/lab-mixed/truth.json says exactly what happened and when."
	@echo "Also look at:"
	@echo "  $(EVENTS)     every protocol message as an ECS JSON line (grep 192.0.2.66 ...)"
	@echo "  $(BIN)/otsight eval $(EXAMPLE) --truth examples/lab-mixed/truth.json   detection scored"
	@echo "  $(BIN)/otsight analyze YOUR.pcap --alerts --db $(DEMO_DB)   or   -i eth0 (root)"
	@echo
	@token=$$($(BIN)/otsight token create demo --label "make demo" --db $(DEMO_DB) 2>/dev/null) && \
	  echo "Web UI: http://127.0.0.1:$(DEMO_PORT)/  -- log in with this token: $$token" && \
	  echo "(Ctrl-C stops the server; the store stays in $(DEMO_DB): otsight serve --db $(DEMO_DB))" && \
	  echo && \
	  $(BIN)/otsight serve --db $(DEMO_DB) --port $(DEMO_PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

unit: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

test: lint typecheck unit

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
