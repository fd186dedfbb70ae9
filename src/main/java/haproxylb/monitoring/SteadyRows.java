package haproxylb.monitoring;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;

/**
 * A family of gauges, one per label set, refreshed from each status observation. Micrometer's
 * {@code MultiGauge.register(rows, true)} removes and adds every row again, and a scrape that lands in between misses
 * a series that never went away (AcmeErrorsTest read the ARI window's end as absent while its start was there). Here a
 * row that stays keeps its gauge and only its value changes; only rows that are gone are removed.
 *
 * @param <T> what a row's value is computed from on each scrape (an expiry instant, a number)
 */
final class SteadyRows<T> {
    private final MultiGauge gauge;
    private final ToDoubleFunction<T> value;
    private final Map<Tags, AtomicReference<T>> rows = new HashMap<>();

    SteadyRows(MultiGauge.Builder builder, MeterRegistry registry, ToDoubleFunction<T> value) {
        this.gauge = builder.register(registry);
        this.value = value;
    }

    /** The series from now on: {@code current}'s label sets with their values. */
    synchronized void update(Map<Tags, T> current) {
        rows.keySet().retainAll(current.keySet());
        current.forEach((tags, v) -> rows.computeIfAbsent(tags, t -> new AtomicReference<>()).set(v));
        List<MultiGauge.Row<?>> all = rows.entrySet().stream().<MultiGauge.Row<?>>map(e -> MultiGauge.Row.of(
                e.getKey(), e.getValue(), ref -> value.applyAsDouble(ref.get()))).toList();
        gauge.register(all, false); // false: a row already there keeps its gauge, which reads the updated value
    }

    /** Removes every series. */
    synchronized void clear() {
        rows.clear();
        gauge.register(List.of(), true);
    }
}
