package livewall.peer;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import jakarta.jms.BytesMessage;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.jms.JmsComponent;
import org.apache.camel.main.Main;
import org.apache.qpid.jms.JmsConnectionFactory;
import org.apache.qpid.jms.message.JmsMessage;
import org.apache.qpid.jms.message.JmsMessageIDBuilder;
import org.apache.qpid.jms.policy.JmsMessageIDPolicy;
import org.apache.qpid.jms.provider.amqp.message.AmqpJmsMessageFacade;
import org.apache.qpid.proton.amqp.Symbol;
import org.messaginghub.pooled.jms.JmsPoolConnectionFactory;

/**
 * The peer benchmark's Camel application (scripts/bench peer). Started once per benchmark and kept running, so its JVM
 * warms up across runs; it takes commands on stdin, one per line, and answers each on stdout with one JSON line:
 *
 * <pre>
 *   run stock|parallel FILE   → {"route":…,"sent":N,"dropped":N,"failed":N,"ms":…}
 *   quit
 * </pre>
 *
 * Settings from the environment: PEER_AMQP_URL (amqp://host:port), PEER_AMQP_PASSWORD (the publisher's), PEER_FEED,
 * PEER_THREADS (the parallel route's pool, default 128). Logs go to stderr.
 */
public final class PeerApp {
  private static final Symbol JSON = Symbol.valueOf("application/json");
  /** The item id of the message being created on this thread: Qpid JMS asks the id policy for it on the same thread. */
  private static final ThreadLocal<String> NEXT_ID = new ThreadLocal<>();

  public static void main(String[] args) throws Exception {
    String url = required("PEER_AMQP_URL");
    String password = required("PEER_AMQP_PASSWORD");
    String feed = required("PEER_FEED");
    int threads = Integer.parseInt(System.getenv().getOrDefault("PEER_THREADS", "128"));

    // Jackson as livewall's JSON.stringify writes: emoji as UTF-8, not as \\uD83D escapes.
    JsonMapper json = JsonMapper.builder().enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

    JmsConnectionFactory qpid = new JmsConnectionFactory(url);
    qpid.setUsername("publisher");
    qpid.setPassword(password);
    // Topics as livewall addresses them, /topic/feed.<name> (the broker's multicast prefix).
    qpid.setTopicPrefix("/topic/");
    // message_id = the item's id, as livewall sends it (Qpid JMS would make one of its own).
    qpid.setMessageIDPolicy(new ItemIdPolicy());
    JmsPoolConnectionFactory pool = new JmsPoolConnectionFactory();
    pool.setConnectionFactory(qpid);
    pool.setMaxConnections(1);
    pool.setMaxSessionsPerConnection(Math.max(500, threads * 2));

    JmsComponent jms = JmsComponent.jmsComponent(pool);
    // content_type application/json on the data section, as livewall's (a JMS BytesMessage has none of its own).
    jms.setMessageCreatedStrategy((message, session, exchange, cause) -> {
      NEXT_ID.set(exchange.getProperty(FeedRoutes.ITEM_ID, String.class));
      if (message instanceof BytesMessage && message instanceof JmsMessage qpidMessage && qpidMessage.getFacade() instanceof AmqpJmsMessageFacade facade) facade.setContentType(JSON);
    });

    FeedRoutes routes = new FeedRoutes(json, feed, threads);
    Main main = new Main();
    main.bind("jms", jms);
    main.configure().addRoutesBuilder(routes);
    main.start();
    CamelContext context = main.getCamelContext();
    ProducerTemplate template = context.createProducerTemplate();
    System.out.println("{\"ready\":true,\"camel\":\"" + context.getVersion() + "\"}");
    System.out.flush();

    BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String command; (command = commands.readLine()) != null; ) {
      String[] words = command.trim().split(" ", 3);
      if (words[0].equals("quit")) break;
      if (!words[0].equals("run") || words.length != 3 || !(words[1].equals("stock") || words[1].equals("parallel"))) {
        System.out.println("{\"error\":\"unknown command\"}");
        System.out.flush();
        continue;
      }
      routes.reset();
      long started = System.nanoTime();
      template.sendBody("direct:" + words[1], new File(words[2]));
      double ms = (System.nanoTime() - started) / 1e6;
      System.out.printf("{\"route\":\"%s\",\"sent\":%d,\"dropped\":%d,\"failed\":%d,\"ms\":%.3f}%n", words[1], routes.sent.get(), routes.dropped.get(), routes.failed.get(), ms);
      System.out.flush();
    }
    main.stop();
    pool.stop();
  }

  private static String required(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) {
      System.err.println("camel peer: " + name + " must be set");
      System.exit(2);
    }
    return value;
  }

  /** Qpid JMS's message id policy: the id the message-created strategy left for this thread. */
  private static final class ItemIdPolicy implements JmsMessageIDPolicy {
    @Override
    public JmsMessageIDPolicy copy() {
      return this;
    }

    @Override
    public JmsMessageIDBuilder getMessageIDBuilder(org.apache.qpid.jms.JmsSession session, org.apache.qpid.jms.JmsDestination destination) {
      return (producerId, sequence) -> {
        String id = NEXT_ID.get();
        NEXT_ID.remove();
        return id;
      };
    }
  }
}
