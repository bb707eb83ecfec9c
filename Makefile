# Two entry points: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/lab-mixed/capture.pcap
EVENTS := out/demo-events.jsonl

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
	$(BIN)/otsight analyze $(EXAMPLE) --events $(EVENTS)
	@echo
	@echo "The capture is 58 s of a lab plant built from real stacks: Modbus PLCs, HMI, engineering"
	@echo "workstation, OPC UA historian, MQTT sensors, an IP camera, a BACnet controller, DHCP."
	@echo "An attacker at 192.0.2.66 scans it, sits in the middle of HMI and PLC (ARP spoofing),"
	@echo "writes registers and forces a PLC into listen-only mode;"
	@echo "examples/lab-mixed/truth.json says exactly what happened and when."
	@echo "Where to look next:"
	@echo "  $(EVENTS)     every protocol message as an ECS JSON line, e.g."
	@echo "      grep 192.0.2.66 $(EVENTS)     (the attacker's ARP replies, scans, writes, diagnostics)"
	@echo "      grep cleartext-credential $(EVENTS)     (the camera's Basic-auth user)"
	@echo "  $(BIN)/otsight analyze --json $(EXAMPLE)      machine-readable summary"
	@echo "  $(BIN)/otsight analyze YOUR.pcap   or   $(BIN)/otsight analyze -i eth0   (root)"
	@echo "  sudo $(BIN)/otsight lab run --scenario recon --out /tmp/lab   a fresh lab capture with its truth"

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
