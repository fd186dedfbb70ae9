package haproxylb.cluster;

import haproxylb.certificates.issuer.ChallengeResponder;
import haproxylb.support.EdgeClient;
import haproxylb.support.HaproxyProcess;
import haproxylb.support.ZooKeeperFixture;

import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP-01 across nodes: the responder of the node that ordered publishes the token to the real ZooKeeper before the
 * challenge; the responder of another node (its own address, its own ZooKeeper session) answers the CA's request.
 */
class SharedChallengeTokensTest {
    @RegisterExtension
    static final ZooKeeperFixture zookeeper = new ZooKeeperFixture();

    /** A node's responder with a ZooKeeper session of its own. */
    private static ChallengeResponder node(String address) throws Exception {
        return node(address, zookeeper.client("/tokens-test"));
    }

    private static ChallengeResponder node(String address, CuratorFramework client) throws Exception {
        ChallengeResponder responder = new ChallengeResponder(new InetSocketAddress(address, HaproxyProcess.freePort()));
        responder.shareWith(new SharedChallengeTokens(new ZooKeeperStorage(client)));
        responder.start();
        return zookeeper.closeAfter(responder);
    }

    private static EdgeClient.Response fetch(ChallengeResponder r, String token) throws Exception {
        InetSocketAddress a = r.address();
        return EdgeClient.request(a.getHostString(), a.getPort(), "app.cluster.test",
                ChallengeResponder.PATH_PREFIX + token, false);
    }

    @Test
    void a_token_placed_on_one_node_is_answered_by_another_until_it_is_withdrawn() throws Exception {
        ChallengeResponder leader = node("127.0.0.2");
        ChallengeResponder other = node("127.0.0.3");
        String token = "tok_" + System.nanoTime();
        assertEquals(404, fetch(other, token).status(), "unknown before it is placed");

        leader.put(token, token + ".key-authorization");
        EdgeClient.Response r = fetch(other, token);
        assertEquals(200, r.status(), "published before put returned, so before the challenge is triggered");
        assertEquals(token + ".key-authorization", r.body());

        leader.remove(token);
        assertEquals(404, fetch(other, token).status());
        assertEquals(404, fetch(leader, token).status());
    }

    @Test
    void a_token_that_cannot_be_published_fails_before_the_challenge_and_is_not_served() throws Exception {
        CuratorFramework client = zookeeper.client("/tokens-test");
        ChallengeResponder leader = node("127.0.0.2", client);
        assertTrue(client.blockUntilConnected(30, TimeUnit.SECONDS), "connected before the outage");
        zookeeper.server().stop();
        UncheckedIOException e;
        try {
            e = assertThrows(UncheckedIOException.class, () -> leader.put("tok_down", "x"));
        } finally {
            zookeeper.server().start();
        }
        assertTrue(e.getMessage().contains("not published to the cluster"), e.getMessage());
        // Asked with ZooKeeper back: neither the responder nor the cluster has it. (Asked while ZooKeeper is down, the
        // cluster lookup fails, which answers nothing too, so it would not tell.)
        assertTrue(client.blockUntilConnected(30, TimeUnit.SECONDS), "reconnected");
        assertTrue(leader.answer("tok_down").isEmpty(), "half-placed tokens are taken back");
    }
}
