# haproxy-lb. `make run` and `make test` do all set-up on a fresh Debian machine (they install haproxy and
# pebble with apt when missing; the JDK and Maven are expected).
SHELL := /bin/bash
MVN ?= mvn -B -q
DIST := target/dist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build test run clean bench

deps:
	@command -v haproxy >/dev/null && command -v pebble >/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy pebble; }
	@# Debian's package starts a system haproxy on :80; haproxy-lb runs its own on loopback high ports.
	@if command -v systemctl >/dev/null && systemctl is-active -q haproxy 2>/dev/null; then true; fi

build:
	$(MVN) -DskipTests package
	rm -rf $(DIST) && mkdir -p $(DIST)/lib
	cp target/lib/*.jar target/haproxy-lb-*.jar $(DIST)/lib/
	mkdir -p $(DIST)/bin && cp src/main/sh/* $(DIST)/bin/
	cp -r conf routes systemd $(DIST)/

test: deps
	$(MVN) test

# Runs the daemon in supervise mode on 127.0.0.1:18080 (http) and :18443 (https), state under run/state,
# and drops the example fragment: curl -k --resolve hello.localhost:18443:127.0.0.1 https://hello.localhost:18443/
run: deps build
	mkdir -p run/state/inbox
	cp conf/examples/hello.cfg conf/examples/hello.map run/state/inbox/
	LB_HOME=$(DIST) LB_CONF_DIR=conf LB_ROUTES_DIR=routes $(DIST)/bin/haproxy-lb

bench: deps build
	bench/run-all.sh

clean:
	rm -rf target target-* run
