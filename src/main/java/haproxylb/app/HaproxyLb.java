package haproxylb.app;

public final class HaproxyLb {
    private HaproxyLb() {}
    public static void main(String[] args) throws Exception {
        new org.apache.camel.main.Main(HaproxyLb.class).run(args);
    }
}
