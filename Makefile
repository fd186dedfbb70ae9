# haproxy-lb. `make run` and `make test` do all set-up on a fresh Debian machine (they install haproxy and
# pebble with apt when missing; the JDK and Maven are expected).
SHELL := /bin/bash
MVN ?= mvn -B -q
DIST := target/dist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build test run demo cluster-demo clean bench bench-deps install deb deb-deps test-deb

deps:
	@command -v haproxy >/dev/null && command -v pebble >/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy pebble; }
	@# The status page's test renders it in a real headless browser (StatusPageTest).
	@command -v chromium >/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	@# The cluster tests run Debian's ZooKeeper server class on a loopback port (ClusterTest, ZooKeeperStorageTest).
	@[ -e /usr/share/java/zookeeper.jar ] || \
	  { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y zookeeper; }
	@# DNS-01 tests run Debian's BIND 9 (named) as an authoritative server on a loopback port (DnsWildcardTest).
	@command -v named >/dev/null || [ -x /usr/sbin/named ] || \
	  { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y bind9 bind9-utils; }
	@# Debian's package starts a system haproxy on :80; haproxy-lb runs its own on loopback high ports.
	@if command -v systemctl >/dev/null && systemctl is-active -q haproxy 2>/dev/null; then true; fi

build:
	$(MVN) -DskipTests package
	rm -rf $(DIST) && mkdir -p $(DIST)/lib
	cp target/lib/*.jar target/haproxy-lb-*.jar $(DIST)/lib/
	mkdir -p $(DIST)/bin && cp src/main/sh/* $(DIST)/bin/
	cp -r conf routes systemd $(DIST)/
	@# haproxy-config's class-data archive: its JVM starts in about half the time (bench/cli-start.sh).
	$(DIST)/bin/haproxy-config-cds

# Not quiet: Surefire prints one line per test class; its summary ("Tests run: N, Failures: 0, ...") is printed
# again as the last line, after Maven's own output.
test: deps
	@log=$$(mktemp); set -o pipefail; mvn -B test | tee "$$log"; rc=$$?; \
	  grep -E 'Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$$' "$$log" | tail -1; \
	  rm -f "$$log"; exit $$rc

# Runs the daemon in supervise mode on 127.0.0.1:18080 (http) and :18443 (https), state under run/state,
# and drops the example fragment: curl -k --resolve hello.example.test:18443:127.0.0.1 https://hello.example.test:18443/
run: deps build
	mkdir -p run/state/inbox
	cp conf/examples/hello.cfg conf/examples/hello.map run/state/inbox/
	LB_HOME=$(DIST) LB_CONF_DIR=conf LB_ROUTES_DIR=routes $(DIST)/bin/haproxy-lb

# Pebble + haproxy-lb + the example fragment, until the example domain is served with a Pebble certificate.
demo: deps build
	$(DIST)/bin/haproxy-lb-demo

# The load generators and the peer the benches compare with, installed with apt when missing: wrk (HTTP/1.1
# load), h2load from nghttp2-client (HTTP/2 load), socat (haproxy's master CLI), caddy (bench/caddy-compare.sh),
# golang-go (builds bench/h2hosts, an HTTP/2 client that spreads :authority over many hosts, for bench/h2.sh).
# ZooKeeper + three nodes on 127.0.0.2-4 (same ports) + the example fragment dropped on one node, served by all three
# (README "Running several nodes"); Ctrl-C stops everything it started.
cluster-demo: deps build
	examples/cluster/demo.sh

bench-deps:
	@command -v wrk >/dev/null && command -v h2load >/dev/null && command -v socat >/dev/null && command -v caddy >/dev/null && command -v go >/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y wrk nghttp2-client socat caddy golang-go; }
	@# Debian's caddy package enables a system Caddy on :80; the benches run their own on loopback high ports.

bench: deps bench-deps build
	bench/run-all.sh

# FHS install (DESTDIR for staging): jar and launchers in /usr/share, settings and routes in /etc/haproxy-lb
# (existing files are kept), state in /var/lib/haproxy-lb, unit and polkit rule for systemctl reload.
install: build
	install -d $(DESTDIR)/usr/share/haproxy-lb/lib $(DESTDIR)/usr/share/haproxy-lb/bin $(DESTDIR)/usr/bin \
	  $(DESTDIR)/etc/haproxy-lb/routes $(DESTDIR)/lib/systemd/system $(DESTDIR)/usr/share/polkit-1/rules.d
	@# Threat model (README): the state is the daemon's; the deploy group writes the inboxes and reads what is not a key.
	install -d -m 0750 $(DESTDIR)/var/lib/haproxy-lb
	install -d -m 2770 $(DESTDIR)/var/lib/haproxy-lb/inbox $(DESTDIR)/var/lib/haproxy-lb/cert-inbox
	@# haproxy's master socket (systemd mode): only the daemon's user may reload or inspect haproxy through it.
	install -d $(DESTDIR)/etc/systemd/system/haproxy.service.d
	printf '[Service]\n# haproxy-lb confirms reloads here; nobody else may use it (README, "Threat model").\nEnvironment="EXTRAOPTS=-S /run/haproxy-master.sock,mode,600,user,haproxy-lb"\n# malloc on transparent huge pages (README, lb.haproxy.huge-pages); delete to turn off.\nEnvironment=GLIBC_TUNABLES=glibc.malloc.hugetlb=1\n# The access log is a line a request through /dev/log: journald would drop all but 10,000 of them in 30 s.\nLogRateLimitIntervalSec=0\n' \
	  > $(DESTDIR)/etc/systemd/system/haproxy.service.d/haproxy-lb.conf
	install -m 0644 $(DIST)/lib/*.jar $(DESTDIR)/usr/share/haproxy-lb/lib/
	install -m 0755 $(DIST)/bin/* $(DESTDIR)/usr/share/haproxy-lb/bin/
	install -m 0644 README.md $(DESTDIR)/usr/share/haproxy-lb/
	@# Not a symlink: the launcher finds lib/ and conf/ from its own directory, which a link would make /usr.
	printf '#!/bin/sh\n# haproxy-config of the haproxy-lb install (README); its class-data archive is made on install.\nLB_HOME=/usr/share/haproxy-lb LB_CONF_DIR=$${LB_CONF_DIR:-/etc/haproxy-lb} LB_CLI_ARCHIVE=$${LB_CLI_ARCHIVE:-/var/cache/haproxy-lb/haproxy-config.jsa} exec /usr/share/haproxy-lb/bin/haproxy-config "$$@"\n' \
	  > $(DESTDIR)/usr/bin/haproxy-config && chmod 0755 $(DESTDIR)/usr/bin/haproxy-config
	[ -e $(DESTDIR)/etc/haproxy-lb/application.properties ] || \
	  { sed -f systemd/production.sed conf/application.properties > $(DESTDIR)/etc/haproxy-lb/application.properties && \
	    chmod 0640 $(DESTDIR)/etc/haproxy-lb/application.properties; }
	[ -e $(DESTDIR)/etc/haproxy-lb/haproxy.cfg.template ] || install -m 0644 conf/haproxy.cfg.template $(DESTDIR)/etc/haproxy-lb/
	for f in routes/*.camel.yaml; do [ -e $(DESTDIR)/etc/haproxy-lb/$$f ] || install -m 0644 $$f $(DESTDIR)/etc/haproxy-lb/routes/; done
	install -m 0644 systemd/haproxy-lb.service $(DESTDIR)/lib/systemd/system/
	install -m 0644 systemd/haproxy-lb-reload.rules $(DESTDIR)/usr/share/polkit-1/rules.d/
	@[ -n "$(DESTDIR)" ] || { getent group haproxy-lb >/dev/null || groupadd --system haproxy-lb; \
	  getent group haproxy-lb-deploy >/dev/null || groupadd --system haproxy-lb-deploy; \
	  id -u haproxy-lb >/dev/null 2>&1 || useradd --system --gid haproxy-lb --home /var/lib/haproxy-lb \
	  --shell /usr/sbin/nologin haproxy-lb; \
	  usermod -aG haproxy-lb-deploy haproxy-lb; \
	  chown haproxy-lb:haproxy-lb /var/lib/haproxy-lb; chmod 0750 /var/lib/haproxy-lb; \
	  chown haproxy-lb:haproxy-lb-deploy /var/lib/haproxy-lb/inbox /var/lib/haproxy-lb/cert-inbox; \
	  chmod 2770 /var/lib/haproxy-lb/inbox /var/lib/haproxy-lb/cert-inbox; \
	  setfacl -m g:haproxy-lb-deploy:r-x,d:g:haproxy-lb-deploy:r-X /var/lib/haproxy-lb; \
	  chgrp haproxy-lb-deploy /etc/haproxy-lb/application.properties; \
	  chgrp haproxy-lb /etc/haproxy; chmod g+w /etc/haproxy; \
	  install -d -o haproxy-lb -g haproxy-lb -m 0750 /etc/haproxy/certs; \
	  /usr/share/haproxy-lb/bin/haproxy-config-cds /var/cache/haproxy-lb/haproxy-config.jsa; \
	  echo "Deploy users: adduser USER haproxy-lb-deploy (they drop fragments and read the status, not the keys)"; \
	  echo "Next: systemctl daemon-reload && systemctl restart haproxy && systemctl enable --now haproxy-lb"; }

# Debian package (target/haproxy-lb_<version>_all.deb): the files of `make install`, /etc/haproxy-lb as conffiles,
# maintainer scripts from packaging/debian; lintian must report no error.
deb-deps:
	@command -v dpkg-deb >/dev/null && command -v lintian >/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y dpkg-dev lintian; }

deb: deb-deps
	rm -rf target/deb
	$(MAKE) install DESTDIR=$(CURDIR)/target/deb/root
	packaging/build-deb.sh target/deb/root

# Installs the package on this machine (as root: CI), checks it, upgrades over itself, purges it.
test-deb: deb
	$(SUDO) packaging/test-deb.sh target/haproxy-lb_*_all.deb

clean:
	rm -rf target target-* run
