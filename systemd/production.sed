# Turns the local-run defaults of conf/application.properties into a production install's settings
# (make install writes the result to /etc/haproxy-lb/application.properties).
s#^lb.state-dir =.*#lb.state-dir = /var/lib/haproxy-lb#
s#^lb.haproxy.config =.*#lb.haproxy.config = /etc/haproxy/haproxy.cfg#
s#^lb.haproxy.map =.*#lb.haproxy.map = /etc/haproxy/backend.map#
s#^lb.haproxy.cert-dir =.*#lb.haproxy.cert-dir = /etc/haproxy/certs#
s#^lb.haproxy.stats-socket =.*#lb.haproxy.stats-socket = /run/haproxy/admin.sock#
s#^lb.haproxy.stats-socket-options =.*#lb.haproxy.stats-socket-options = mode 600 user haproxy-lb#
s#^lb.haproxy.process-user =.*#lb.haproxy.process-user = haproxy#
s#^lb.edge.http-bind =.*#lb.edge.http-bind = :80#
s#^lb.edge.https-bind =.*#lb.edge.https-bind = :443#
s#^lb.edge.https-public-port =.*#lb.edge.https-public-port = 443#
s#^lb.acme.responder =.*#lb.acme.responder = 127.0.0.1:8888#
s#^lb.reload.mode =.*#lb.reload.mode = systemd#
