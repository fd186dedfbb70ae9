package haproxylb.statuspage;

import haproxylb.common.Json;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import haproxylb.monitoring.ExchangeEndNotifier;
import haproxylb.status.ReloadStatus;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import org.apache.camel.CamelContext;
import org.apache.camel.ExtendedStartupListener;
import org.apache.camel.component.platform.http.main.ManagementHttpServer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.spi.CamelEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The status page on Camel Main's management server, beside /observe/health and /observe/metrics (and, like them,
 * on loopback unless camel.management.host says otherwise): {@value #PATH}/ serves the page, plain static files
 * from the classpath with no build step and no CDN, and {@value #PATH}/data.json the JSON it renders. The routes are
 * added to the management server's Vert.x router once the context has started, the way camel-micrometer-prometheus
 * adds /observe/metrics.
 */
public final class StatusPage {
    public static final String PATH = "/observe/status";
    private static final Logger LOG = LoggerFactory.getLogger(StatusPage.class);
    private static final ObjectMapper JSON = Json.MAPPER;
    /** The page's files: a fixed list, so no request path ever reaches the classpath or the file system. */
    private static final Map<String, String> ASSETS = Map.of(
            "index.html", "text/html; charset=utf-8",
            "status.css", "text/css; charset=utf-8",
            "status.js", "text/javascript; charset=utf-8");
    /** Exchanges of these routes end when haproxy may have been reloaded or (re)started. */
    private static final Set<String> RELOAD_ROUTES = Set.of("reload-request", "reload-trailing", "haproxy-watchdog");

    private final StatusPageData data;
    private final ReloadHistory reloads;
    private final Supplier<ReloadStatus> lastReload;
    private final Map<String, Buffer> files;

    StatusPage(StatusPageData data, ReloadHistory reloads, Supplier<ReloadStatus> lastReload) {
        this.data = data;
        this.reloads = reloads;
        this.lastReload = lastReload;
        this.files = Map.of(
                "index.html", load("index.html"),
                "status.css", load("status.css"),
                "status.js", load("status.js"));
    }

    /** Call before the context starts: the routes are added once it has. */
    public static void install(CamelContext context, StatusPageData data, ReloadHistory reloads,
                               Supplier<ReloadStatus> lastReload) throws Exception {
        StatusPage page = new StatusPage(data, reloads, lastReload);
        reloads.saw(lastReload.get());
        context.getManagementStrategy().addEventNotifier(page.new ReloadObserver());
        context.addStartupListener(new ExtendedStartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
                // the management server's router exists only once the context's services have started
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
                page.addRoutes(context);
            }
        });
    }

    void addRoutes(CamelContext context) {
        ManagementHttpServer server = context.hasService(ManagementHttpServer.class);
        if (server == null || server.getRouter() == null) {
            LOG.info("No management server (camel.management.enabled = false): no status page");
            return;
        }
        VertxPlatformHttpRouter router = server.getRouter();
        // Vert.x matches this path with and without the trailing slash; without it the page's relative links break.
        router.route(PATH + "/").method(HttpMethod.GET).handler(ctx -> {
            if (ctx.request().path().endsWith("/")) {
                send(ctx, "index.html");
            } else {
                ctx.redirect(PATH + "/");
            }
        });
        router.route(PATH + "/data.json").method(HttpMethod.GET).blockingHandler(this::sendData);
        router.route(PATH + "/:file").method(HttpMethod.GET).handler(ctx -> send(ctx, ctx.pathParam("file")));
        LOG.info("Status page: http://{}:{}{}/", server.getHost(), server.getPort(), PATH);
    }

    private void send(RoutingContext ctx, String name) {
        Buffer file = files.get(name);
        if (file == null) {
            ctx.response().setStatusCode(404).putHeader("content-type", "text/plain; charset=utf-8")
                    .end("No such file on the status page: " + name + "\n");
            return;
        }
        ctx.response().putHeader("content-type", ASSETS.get(name)).putHeader("cache-control", "no-cache")
                .end(file);
    }

    private void sendData(RoutingContext ctx) {
        try {
            byte[] body = JSON.writeValueAsBytes(data.collect());
            ctx.response().putHeader("content-type", "application/json").putHeader("cache-control", "no-store")
                    .end(Buffer.buffer(body));
        } catch (IOException | RuntimeException e) {
            LOG.warn("Status page: could not collect the daemon's status: {}", e.getMessage());
            ctx.response().setStatusCode(500).putHeader("content-type", "text/plain; charset=utf-8")
                    .end("Could not collect the daemon's status: " + e.getMessage() + "\n");
        }
    }

    private static Buffer load(String name) {
        try (InputStream in = StatusPage.class.getResourceAsStream("/status-page/" + name)) {
            if (in == null) {
                throw new IllegalStateException("status-page/" + name + " is missing from the classpath");
            }
            return Buffer.buffer(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Remembers each reload for the timeline, so none is missed between two looks at the page. */
    private final class ReloadObserver extends ExchangeEndNotifier {
        @Override
        public void notify(CamelEvent event) {
            // An exchange sent by a ProducerTemplate has no route (Set.of(...).contains(null) throws).
            if (event instanceof CamelEvent.ExchangeEvent e && e.getExchange().getFromRouteId() != null
                    && RELOAD_ROUTES.contains(e.getExchange().getFromRouteId())) {
                reloads.saw(lastReload.get());
            }
        }
    }
}
