#!/usr/bin/env bash
# Installs the package on this machine with apt (as root: CI's fresh Debian machine), checks the installed tree,
# modes, user and groups, haproxy-config, the unit; upgrades over itself keeping an edited conffile; purges it and
# checks everything is gone. Leaves the machine as it found it (haproxy itself stays installed).
set -euo pipefail
deb=$(realpath "${1:?usage: packaging/test-deb.sh haproxy-lb_VERSION_all.deb}")
[ "$(id -u)" = 0 ] || { echo "test-deb.sh: run as root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive
failures=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi; }
mode_is() { [ "$(stat -c '%a %U %G' "$1")" = "$2" ] || { echo "     $1: $(stat -c '%a %U %G' "$1"), expected $2"; return 1; }; }

if dpkg -s haproxy-lb >/dev/null 2>&1; then
    echo "test-deb.sh: haproxy-lb is installed already; purge it first" >&2
    exit 2
fi
start=$(date +%s)

apt-get install -y "$deb" >/tmp/test-deb-install.log 2>&1 || { cat /tmp/test-deb-install.log; exit 1; }
pass "apt-get install ./$(basename "$deb")"
check "status: installed" sh -c "dpkg -s haproxy-lb | grep -q '^Status: install ok installed'"

# The tree make install lays out.
for f in /usr/share/haproxy-lb/bin/haproxy-lb /usr/share/haproxy-lb/bin/haproxy-config /usr/bin/haproxy-config \
         /etc/haproxy-lb/application.properties /etc/haproxy-lb/haproxy.cfg.template \
         /etc/haproxy-lb/routes/intake.camel.yaml /lib/systemd/system/haproxy-lb.service \
         /usr/share/polkit-1/rules.d/haproxy-lb-reload.rules /usr/share/doc/haproxy-lb/copyright; do
    check "installed: $f" test -f "$f"
done
check "the daemon's jar" sh -c 'ls /usr/share/haproxy-lb/lib/haproxy-lb-*.jar'
check "conffiles: every file under /etc/haproxy-lb" sh -c \
    '[ "$(find /etc/haproxy-lb -type f | sort)" = "$(dpkg-query -W -f="\${Conffiles}\n" haproxy-lb | awk "NF {print \$1}" | grep "^/etc/haproxy-lb/" | sort)" ]'
# The threat model's drop-in for Debian's haproxy.service (master socket 0600, owned by the daemon's user).
check "conffiles: the haproxy.service drop-in" sh -c \
    'dpkg-query -W -f="\${Conffiles}\n" haproxy-lb | grep -q "^ */etc/systemd/system/haproxy.service.d/haproxy-lb.conf "'
check "the drop-in lifts journald's rate limit off haproxy's access log" \
    grep -qx 'LogRateLimitIntervalSec=0' /etc/systemd/system/haproxy.service.d/haproxy-lb.conf
check "production settings: systemd mode, state in /var/lib/haproxy-lb" sh -c \
    'grep -q "^lb.reload.mode = systemd" /etc/haproxy-lb/application.properties && grep -q "^lb.state-dir = /var/lib/haproxy-lb" /etc/haproxy-lb/application.properties'

# User, groups, modes (the threat model's).
check "system user haproxy-lb" sh -c '[ "$(id -u haproxy-lb)" -lt 1000 ] && [ "$(getent passwd haproxy-lb | cut -d: -f7)" = /usr/sbin/nologin ]'
check "group haproxy-lb-deploy, with the daemon in it" sh -c 'id -nG haproxy-lb | grep -qw haproxy-lb-deploy'
check "state dir 0750 haproxy-lb" mode_is /var/lib/haproxy-lb "750 haproxy-lb haproxy-lb"
check "inbox 2770 haproxy-lb:haproxy-lb-deploy" mode_is /var/lib/haproxy-lb/inbox "2770 haproxy-lb haproxy-lb-deploy"
check "cert-inbox 2770 haproxy-lb:haproxy-lb-deploy" mode_is /var/lib/haproxy-lb/cert-inbox "2770 haproxy-lb haproxy-lb-deploy"
check "deployers may pass through the state dir" sh -c 'getfacl -cp /var/lib/haproxy-lb | grep -qx "group:haproxy-lb-deploy:--x"'
check "the daemon may write /etc/haproxy" sh -c '[ "$(stat -c %G /etc/haproxy)" = haproxy-lb ] && [ -n "$(find /etc/haproxy -maxdepth 0 -perm -g+w)" ]'
check "cert dir 0750 haproxy-lb" mode_is /etc/haproxy/certs "750 haproxy-lb haproxy-lb"
deployer=lb-test-deployer
useradd --no-create-home --shell /usr/sbin/nologin -G haproxy-lb-deploy "$deployer"
check "a deployer can drop a fragment into the inbox" runuser -u "$deployer" -- sh -c 'umask 077; echo x > /var/lib/haproxy-lb/inbox/.probe && rm /var/lib/haproxy-lb/inbox/.probe'
check "a deployer cannot list the state dir" sh -c "! runuser -u $deployer -- ls /var/lib/haproxy-lb"
check "another user cannot reach the inbox" sh -c "! runuser -u nobody -- ls /var/lib/haproxy-lb/inbox"
userdel "$deployer"

# haproxy-config runs from PATH on the installed Java, the unit is valid.
check "haproxy-config --help" sh -c 'haproxy-config --help 2>&1 | grep -q "haproxy-config apply NAME"'
# Its class-data archive, made by postinst for this JVM and these jars, is used, by a deployer too (not only root).
check "haproxy-config's class-data archive" test -s /var/cache/haproxy-lb/haproxy-config.jsa
check "haproxy-config starts from it" sh -c \
    'runuser -u nobody -- env JAVA_OPTS=-Xlog:class+load=info haproxy-config --help 2>&1 | grep -q "haproxylb.cli.HaproxyConfig source: shared objects file (top)"'
statedir=$(mktemp -d)
echo '{}' >"$statedir/status.json"
check "haproxy-config status reads status.json with classes from it" sh -c "LB_STATE_DIR=$statedir \
    JAVA_OPTS=-Xlog:class+load=info haproxy-config status 2>&1 | grep -q 'jackson.databind.ObjectMapper source: shared objects file (top)'"
rm -rf "$statedir"
rm /var/cache/haproxy-lb/haproxy-config.jsa
check "a change of Java remakes it (dpkg trigger on /usr/lib/jvm)" sh -c \
    'dpkg-trigger --no-await /usr/lib/jvm && dpkg --triggers-only --pending && test -s /var/cache/haproxy-lb/haproxy-config.jsa'
if systemd-analyze verify /lib/systemd/system/haproxy-lb.service >/tmp/test-deb-verify.log 2>&1; then
    pass "systemd-analyze verify haproxy-lb.service"
else
    fail "systemd-analyze verify haproxy-lb.service"; cat /tmp/test-deb-verify.log
fi

# Upgrade over itself: an edited conffile stays.
echo "lb.acme.email = ops@example.test" >> /etc/haproxy-lb/application.properties
apt-get install -y --reinstall -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$deb" \
    >/tmp/test-deb-upgrade.log 2>&1 && pass "reinstall (upgrade over itself)" || { fail "reinstall"; cat /tmp/test-deb-upgrade.log; }
check "the edited conffile survived" grep -qx "lb.acme.email = ops@example.test" /etc/haproxy-lb/application.properties
check "state dir kept its modes" mode_is /var/lib/haproxy-lb/inbox "2770 haproxy-lb haproxy-lb-deploy"

# Remove keeps state and settings; purge removes everything.
touch /var/lib/haproxy-lb/inbox/kept
apt-get remove -y haproxy-lb >/tmp/test-deb-remove.log 2>&1 && pass "apt-get remove" || { fail "apt-get remove"; cat /tmp/test-deb-remove.log; }
check "remove keeps the state" test -f /var/lib/haproxy-lb/inbox/kept
check "remove keeps the settings" test -f /etc/haproxy-lb/application.properties
check "remove takes the program" test ! -e /usr/share/haproxy-lb
check "remove takes haproxy-config's class-data archive" test ! -e /var/cache/haproxy-lb
apt-get purge -y haproxy-lb >/tmp/test-deb-purge.log 2>&1 && pass "apt-get purge" || { fail "apt-get purge"; cat /tmp/test-deb-purge.log; }
for gone in /var/lib/haproxy-lb /etc/haproxy-lb /usr/share/haproxy-lb /usr/bin/haproxy-config \
            /lib/systemd/system/haproxy-lb.service /usr/share/polkit-1/rules.d/haproxy-lb-reload.rules; do
    check "purged: $gone" test ! -e "$gone"
done
check "purged: user haproxy-lb" sh -c '! getent passwd haproxy-lb'
check "purged: groups haproxy-lb and haproxy-lb-deploy" sh -c '! getent group haproxy-lb && ! getent group haproxy-lb-deploy'
check "purged: /etc/haproxy back to root" sh -c '[ "$(stat -c %G /etc/haproxy)" = root ]'
check "dpkg forgot it" sh -c '! dpkg -s haproxy-lb'

echo "test-deb.sh: $failures failure(s), $(( $(date +%s) - start )) s"
[ "$failures" = 0 ]
