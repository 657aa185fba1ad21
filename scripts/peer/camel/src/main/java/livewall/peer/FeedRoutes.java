package livewall.peer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.jackson.JacksonDataFormat;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.SplitDefinition;
import org.apache.camel.support.processor.idempotent.MemoryIdempotentRepository;

/**
 * livewall's feed routes in Camel's Java DSL, one route per configuration, each taking the recording (a java.io.File)
 * as its body:
 *
 * <ul>
 *   <li>{@code direct:stock}: split the file into lines, streaming (one line read at a time), and send each item
 *       before reading the next line, as a Camel user gets it without tuning;</li>
 *   <li>{@code direct:parallel}: the same split with parallelProcessing over a pool of `threads` threads, each
 *       sending its item synchronously (order between items is lost).</li>
 * </ul>
 *
 * Per line: decode, keep posts with pictures for the feed (filter EIP), map, stamp publishedAt, validate, de-duplicate
 * by item id (idempotentConsumer, a window of 10,000 as livewall's), marshal with camel-jackson, check the size, send
 * with camel-jms. A persistent JMS send outside a transaction returns on the broker's acceptance (Qpid JMS), so every
 * counted item was accepted.
 */
final class FeedRoutes extends RouteBuilder {
  static final String ITEM_ID = "livewallItemId";

  final AtomicLong sent = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  final AtomicLong dropped = new AtomicLong();
  /** The de-duplication windows of the two routes; a run starts with them empty, as a new livewall engine does. */
  private final List<MemoryIdempotentRepository> windows = new ArrayList<>();
  private final FeedItems items;
  private final ObjectMapper json;
  private final String topic;
  private final int threads;

  FeedRoutes(ObjectMapper json, String feed, int threads) {
    this.json = json;
    this.items = new FeedItems(json, feed);
    // Camel drops the leading slash of a destination name: the connection factory adds the /topic/ prefix.
    this.topic = "feed." + feed;
    this.threads = threads;
  }

  @Override
  public void configure() {
    // A line that is not an item is counted and skipped; a failed send is counted (the run then fails).
    onException(FeedItems.Dropped.class).handled(true).process(exchange -> dropped.incrementAndGet());
    onException(Exception.class).handled(true).process(exchange -> {
      failed.incrementAndGet();
      Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
      System.err.println("camel peer: send failed: " + cause);
    });

    perLine(from("direct:stock").routeId("stock").split(body().tokenize("\n")).streaming());
    ExecutorService pool = getContext().getExecutorServiceManager().newFixedThreadPool(this, "peer-split", threads);
    perLine(from("direct:parallel").routeId("parallel").split(body().tokenize("\n")).streaming().parallelProcessing().executorService(pool));
  }

  private void perLine(SplitDefinition split) {
    JacksonDataFormat jackson = new JacksonDataFormat(json, Object.class);
    // No Content-Type header: camel-jms would send it as an application property, which livewall's messages have none of.
    jackson.setContentTypeHeader(false);
    ProcessorDefinition<?> steps = split
        .process(exchange -> exchange.getMessage().setBody(items.post(exchange.getMessage().getBody(String.class))))
        .process(exchange -> exchange.getMessage().setBody(items.item(exchange.getMessage().getBody(FeedItems.Post.class))))
        .process(this::stamp)
        .process(exchange -> FeedItems.validate(itemOf(exchange)))
        .idempotentConsumer(exchangeProperty(ITEM_ID), window())
        .marshal(jackson)
        .process(exchange -> FeedItems.checkSize(exchange.getMessage().getBody(byte[].class)))
        .to("jms:topic:" + topic)
        .process(exchange -> sent.incrementAndGet());
    steps.end();
  }

  private MemoryIdempotentRepository window() {
    MemoryIdempotentRepository window = (MemoryIdempotentRepository) MemoryIdempotentRepository.memoryIdempotentRepository(10_000);
    windows.add(window);
    return window;
  }

  /** Zeroes the counters and empties the windows before a run. */
  void reset() {
    sent.set(0);
    failed.set(0);
    dropped.set(0);
    windows.forEach(MemoryIdempotentRepository::clear);
  }

  /** publishedAt now; the item's id as an exchange property (not a header: camel-jms would send it as a property). */
  private void stamp(Exchange exchange) {
    Map<String, Object> item = itemOf(exchange);
    item.put("publishedAt", FeedItems.now());
    exchange.setProperty(ITEM_ID, item.get("id"));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> itemOf(Exchange exchange) {
    return exchange.getMessage().getBody(Map.class);
  }
}
