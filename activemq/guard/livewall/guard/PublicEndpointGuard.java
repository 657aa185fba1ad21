package livewall.guard;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.api.core.TransportConfiguration;
import org.apache.activemq.artemis.core.protocol.stomp.Stomp;
import org.apache.activemq.artemis.core.protocol.stomp.StompConnection;
import org.apache.activemq.artemis.core.protocol.stomp.StompFrame;
import org.apache.activemq.artemis.core.protocol.stomp.StompFrameInterceptor;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyConnection;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.impl.AddressInfo;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerPlugin;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.apache.activemq.artemis.utils.ProxyProtocolUtil;

/**
 * The broker side of livewall's public endpoint: what an anonymous client on the page's acceptor may do, enforced
 * before Artemis acts on it. Artemis alone lets such a client add a routing type to an existing address (no
 * security check on that path), read a STOMP frame of any size (its decoder joins WebSocket frames without a
 * limit), keep a connection that never logs in, open any number of subscriptions and connections, try passwords
 * at full speed, and log in as any user on any acceptor (its authentication cache ignores the security domain).
 *
 * On the acceptors it guards (property {@code acceptors}), a connection (and a viewer's, anonymous or one of
 * {@code logins}, on any STOMP acceptor: the frame and subscription rules below):
 * <ul>
 *   <li>must be a WebSocket: plain STOMP over TCP is closed at once;</li>
 *   <li>must log in within {@code connectTimeoutMs}, anonymously or as one of {@code logins}: other logins are
 *       refused before authentication, so their passwords cannot be guessed here;</li>
 *   <li>may send only CONNECT/STOMP, SUBSCRIBE, UNSUBSCRIBE and DISCONNECT with the headers a page sends, each frame
 *       under {@code maxFrameBytes};</li>
 *   <li>may subscribe only to existing addresses whose destination matches {@code destinations}, at most
 *       {@code maxSubscriptions} at a time, with no routing type, selector or durable name of its own;</li>
 *   <li>counts against {@code maxConnectionsPerAddress} and a CONNECT rate per client address
 *       ({@code connectBurst}, then {@code connectsPerSecond}).</li>
 * </ul>
 * On every STOMP acceptor, a moderator (one of {@code moderators}) may SEND and SUBSCRIBE only to destinations that
 * match {@code moderatorDestinations}, whose address exists and already has the routing type the prefix names
 * ({@code /topic/} multicast, {@code /queue/} anycast), with no routing type or durable subscription of its own: it
 * takes down and approves items on the feeds there are, and can neither make an address nor add a routing type to
 * one (which Artemis does, unchecked, for any client whose role may create addresses).
 * A refused frame gets an ERROR frame that says what was refused (never a dump of broker state) and the connection
 * is closed. Refusals are logged as one summary line per reason every 10 s, so an attack cannot flood the log.
 */
public final class PublicEndpointGuard implements ActiveMQServerPlugin, StompFrameInterceptor {

   /** The ERROR message prefix a page can recognise: the destination is allowed but its address does not exist. */
   public static final String NOT_FOUND = "livewall: no such destination: ";

   private static final Set<String> CONNECT_HEADERS = Set.of("accept-version", "host", "login", "passcode", "heart-beat");
   private static final Set<String> SUBSCRIBE_HEADERS = Set.of("id", "destination", "ack", "receipt");
   private static final Set<String> UNSUBSCRIBE_HEADERS = Set.of("id", "receipt");
   private static final Set<String> DISCONNECT_HEADERS = Set.of("receipt");
   /** Headers by which a STOMP client picks a routing type or a durable subscription: never a moderator's. */
   private static final Set<String> ROUTING_HEADERS = Set.of("destination-type", "subscription-type", "durable-subscription-name", "durable-subscriber-name", "activemq.subscriptionName");

   private Set<String> acceptors = Set.of("stomp-ws");
   private Set<String> logins = Set.of("viewer");
   private Pattern destinations = Pattern.compile("/topic/(feed|status)\\.[a-z0-9-]{1,32}");
   private String prefix = "/topic/";
   private String anycastPrefix = "/queue/";
   private Set<String> moderators = Set.of();
   private Pattern moderatorDestinations = Pattern.compile("/topic/(feed|status)\\.[a-z0-9-]{1,32}|/queue/(moderation\\.log|pending\\.[a-z0-9-]{1,32})");
   private int maxFrameBytes = 4096;
   private long connectTimeoutMs = 5000;
   private int maxSubscriptions = 4;
   private int maxConnectionsPerAddress = 100;
   private double connectBurst = 60;
   private double connectsPerSecond = 10;

   private ActiveMQServer server;
   /** The local ports of the guarded acceptors: a connection of any protocol is known by the port it came in on. */
   private final Set<Integer> guardedPorts = ConcurrentHashMap.newKeySet();
   private RefusalLog refusals;
   private final Map<Object, Set<String>> subscriptions = new ConcurrentHashMap<>();
   private final Map<String, AtomicInteger> connectionsByAddress = new ConcurrentHashMap<>();
   private final Map<String, TokenBucket> connectsByAddress = new ConcurrentHashMap<>();

   @Override
   public void init(Map<String, String> properties) {
      properties.forEach((key, value) -> {
         switch (key) {
            // None: a broker with no public acceptor (an edge tier's core) keeps the moderators' rules only.
            case "acceptors" -> acceptors = value.isBlank() ? Set.of() : Set.of(value.split("\\s*,\\s*"));
            case "logins" -> logins = value.isBlank() ? Set.of() : Set.of(value.split("\\s*,\\s*"));
            case "destinations" -> destinations = Pattern.compile(value);
            case "multicastPrefix" -> prefix = value;
            case "anycastPrefix" -> anycastPrefix = value;
            case "moderators" -> moderators = value.isBlank() ? Set.of() : Set.of(value.split("\\s*,\\s*"));
            case "moderatorDestinations" -> moderatorDestinations = Pattern.compile(value);
            case "maxFrameBytes" -> maxFrameBytes = positive(key, value);
            case "connectTimeoutMs" -> connectTimeoutMs = positive(key, value);
            case "maxSubscriptions" -> maxSubscriptions = positive(key, value);
            case "maxConnectionsPerAddress" -> maxConnectionsPerAddress = positive(key, value);
            case "connectBurst" -> connectBurst = positive(key, value);
            case "connectsPerSecond" -> connectsPerSecond = positive(key, value);
            default -> throw new IllegalArgumentException("livewall guard: unknown property " + key);
         }
      });
   }

   private static int positive(String key, String value) {
      int number = Integer.parseInt(value.trim());
      if (number <= 0) throw new IllegalArgumentException("livewall guard: " + key + " must be positive, not " + value);
      return number;
   }

   @Override
   public void registered(ActiveMQServer server) {
      this.server = server;
      this.refusals = new RefusalLog(server.getScheduledPool());
      for (TransportConfiguration acceptor : server.getConfiguration().getAcceptorConfigurations()) {
         if (acceptors.contains(acceptor.getName())) guardedPorts.add(Integer.parseInt(String.valueOf(acceptor.getParams().get("port"))));
      }
      if (guardedPorts.size() != acceptors.size()) throw new IllegalArgumentException("livewall guard: no acceptor with a port for each of " + acceptors);
      // The same object reads every STOMP frame: one place holds the connection's state and the rules.
      server.getRemotingService().addIncomingInterceptor(this);
   }

   @Override
   public void unregistered(ActiveMQServer server) {
      server.getRemotingService().removeIncomingInterceptor(this);
      refusals.stop();
   }

   /** Anonymous (the guest) or one of `logins`: the viewer role. */
   private boolean isViewer(String login) {
      return login == null || login.isEmpty() || logins.contains(login);
   }

   private boolean guarded(RemotingConnection connection) {
      return connection.getTransportConnection() instanceof NettyConnection netty
         && netty.getNettyChannel().localAddress() instanceof InetSocketAddress local
         && guardedPorts.contains(local.getPort());
   }

   private static Channel channel(RemotingConnection connection) {
      return ((NettyConnection) connection.getTransportConnection()).getNettyChannel();
   }

   private static String clientAddress(Channel channel) {
      String address = ProxyProtocolUtil.getRemoteAddress(channel);
      if (address == null) return "unknown";
      int port = address.lastIndexOf(':');
      String host = port > 0 ? address.substring(0, port) : address;
      return host.startsWith("/") ? host.substring(1) : host;
   }

   @Override
   public void afterCreateConnection(RemotingConnection connection) {
      if (!guarded(connection)) return;
      Channel channel = channel(connection);
      String address = clientAddress(channel);
      if (!(connection instanceof StompConnection)) {
         // Bytes that are neither STOMP nor HTTP: Artemis would keep reading them, unbounded, into its protocol
         // detector (and log an error for each read) unless the acceptor also lists CORE, which takes them here.
         refuse(connection, channel, "a connection that is not STOMP", address);
         return;
      }
      if (channel.pipeline().get("websocket-handler") == null) {
         refuse(connection, channel, "plain STOMP over TCP (this port takes WebSocket only)", address);
         return;
      }
      int open = connectionsByAddress.computeIfAbsent(address, (key) -> new AtomicInteger()).incrementAndGet();
      channel.closeFuture().addListener((future) -> release(address));
      if (open > maxConnectionsPerAddress) {
         refuse(connection, channel, "more than " + maxConnectionsPerAddress + " connections from one address", address);
         return;
      }
      channel.pipeline().addBefore("handler", FrameSizeLimit.NAME, new FrameSizeLimit(maxFrameBytes, () -> refusals.count("a frame over " + maxFrameBytes + " bytes", address)));
      server.getScheduledPool().schedule(() -> {
         if (channel.isActive() && !((StompConnection) connection).isValid()) {
            refuse(connection, channel, "no CONNECT within " + connectTimeoutMs + " ms", address);
         }
      }, connectTimeoutMs, TimeUnit.MILLISECONDS);
   }

   private void release(String address) {
      connectionsByAddress.computeIfPresent(address, (key, open) -> open.decrementAndGet() <= 0 ? null : open);
   }

   @Override
   public void afterDestroyConnection(RemotingConnection connection) {
      subscriptions.remove(connection.getID());
   }

   @Override
   public boolean intercept(StompFrame frame, RemotingConnection connection) {
      if (!(connection instanceof StompConnection stomp)) return true;
      boolean publicPort = guarded(connection);
      // A moderator never gets past CONNECT on the public port (not one of `logins`); on the others, it reaches
      // only the destinations that exist for it.
      // (An anonymous client's login is null, which Set.contains refuses with an exception that would let its frame
      // through unchecked: ask only with a login.)
      if (!publicPort && stomp.isValid() && stomp.getLogin() != null && moderators.contains(stomp.getLogin())) {
         String refusal = checkModerator(frame);
         return refusal == null || refuseFrame(frame, connection, refusal, clientAddress(channel(connection)));
      }
      // A viewer is a viewer on every acceptor: on the operators' one too, it only subscribes to what exists. Other
      // logins there are the broker's own security's business, and cost nothing more here.
      if (!publicPort && !(stomp.isValid() && isViewer(stomp.getLogin()))) return true;
      Channel channel = channel(connection);
      if (publicPort) {
         FrameSizeLimit limit = channel.pipeline().get(FrameSizeLimit.class);
         if (limit != null) limit.frameDecoded();
      }
      String address = clientAddress(channel);
      String refusal = check(frame, stomp, address);
      return refusal == null || refuseFrame(frame, connection, refusal, address);
   }

   /** Answers `frame` with an ERROR that says `refusal`, closes the connection, and returns false (not passed on). */
   private boolean refuseFrame(StompFrame frame, RemotingConnection connection, String refusal, String address) {
      StompFrame error = new StompFrame(Stomp.Responses.ERROR);
      error.addHeader(Stomp.Headers.Error.MESSAGE, refusal);
      String receipt = frame.getHeader(Stomp.Headers.RECEIPT_REQUESTED);
      if (receipt != null) error.addHeader(Stomp.Headers.Response.RECEIPT_ID, printable(receipt).replace("\"", ""));
      // Written straight to the socket, then closed: Artemis's own path would log a line for every ERROR it sends.
      try {
         connection.getTransportConnection().write(error.toActiveMQBuffer(), true, false);
      } catch (Exception e) {
         // The client is gone already; closing is all there is to do.
      }
      connection.destroy();
      if (!refusal.startsWith(NOT_FOUND)) refusals.count(refusal, address);
      return false;
   }

   /** Why a moderator's frame is refused, or null when it may pass: only its SEND and SUBSCRIBE name a destination. */
   private String checkModerator(StompFrame frame) {
      String command = frame.getCommand();
      if (!command.equals(Stomp.Commands.SEND) && !command.equals(Stomp.Commands.SUBSCRIBE)) return null;
      for (String header : frame.getHeadersMap().keySet()) {
         if (ROUTING_HEADERS.contains(header)) return command + " header " + printable(header) + " is not allowed for a moderator";
      }
      String destination = frame.getHeader(Stomp.Headers.Send.DESTINATION);
      if (destination == null || !moderatorDestinations.matcher(destination).matches()) return "destination " + printable(destination) + " is not allowed for a moderator";
      boolean topic = destination.startsWith(prefix);
      if (!topic && !destination.startsWith(anycastPrefix)) return "destination " + printable(destination) + " is not allowed for a moderator";
      String name = destination.substring(topic ? prefix.length() : anycastPrefix.length());
      AddressInfo info = server.getAddressInfo(SimpleString.of(name));
      if (info == null) return NOT_FOUND + name;
      if (!info.getRoutingTypes().contains(topic ? RoutingType.MULTICAST : RoutingType.ANYCAST)) return "destination " + printable(destination) + " is not a " + (topic ? "topic" : "queue");
      return null;
   }

   /** Why the frame is refused, or null when it may pass. */
   private String check(StompFrame frame, StompConnection connection, String address) {
      String command = frame.getCommand();
      switch (command) {
         case Stomp.Commands.CONNECT, Stomp.Commands.STOMP -> {
            String unexpected = unexpectedHeader(frame, CONNECT_HEADERS);
            if (unexpected != null) return unexpected;
            String login = frame.getHeader(Stomp.Headers.Connect.LOGIN);
            if (!isViewer(login)) return "login " + printable(login) + " is not accepted on this port";
            TokenBucket bucket = connectsByAddress.computeIfAbsent(address, (key) -> new TokenBucket(connectBurst, connectsPerSecond));
            if (!bucket.take()) return "too many connections from your address: try again in a few seconds";
            return null;
         }
         case Stomp.Commands.SUBSCRIBE -> {
            String unexpected = unexpectedHeader(frame, SUBSCRIBE_HEADERS);
            if (unexpected != null) return unexpected;
            String ack = frame.getHeader(Stomp.Headers.Subscribe.ACK_MODE);
            if (ack != null && !ack.equals("auto")) return "ack mode " + printable(ack) + " is not allowed here";
            String destination = frame.getHeader(Stomp.Headers.Subscribe.DESTINATION);
            if (destination == null || !destinations.matcher(destination).matches()) return "destination " + printable(destination) + " is not allowed here";
            String id = frame.getHeader(Stomp.Headers.Subscribe.ID);
            if (id == null || id.length() > 64) return "a subscription needs an id of at most 64 characters";
            Set<String> ids = subscriptions.computeIfAbsent(connection.getID(), (key) -> ConcurrentHashMap.newKeySet());
            if (ids.contains(id)) return "subscription id " + printable(id) + " is already in use";
            if (ids.size() >= maxSubscriptions) return "at most " + maxSubscriptions + " subscriptions per connection";
            String name = destination.substring(prefix.length());
            if (server.getAddressInfo(SimpleString.of(name)) == null) return NOT_FOUND + name;
            ids.add(id);
            return null;
         }
         case Stomp.Commands.UNSUBSCRIBE -> {
            String unexpected = unexpectedHeader(frame, UNSUBSCRIBE_HEADERS);
            if (unexpected != null) return unexpected;
            Set<String> ids = subscriptions.get(connection.getID());
            String id = frame.getHeader(Stomp.Headers.Unsubscribe.ID);
            if (ids == null || id == null || !ids.remove(id)) return "no subscription " + printable(id) + " to end";
            return null;
         }
         case Stomp.Commands.DISCONNECT -> {
            return unexpectedHeader(frame, DISCONNECT_HEADERS);
         }
         default -> {
            return command.length() <= 16 ? printable(command) + " is not allowed here: viewers only subscribe" : "unknown command";
         }
      }
   }

   private static String unexpectedHeader(StompFrame frame, Set<String> allowed) {
      for (String header : frame.getHeadersMap().keySet()) {
         if (!allowed.contains(header) && !header.equals(Stomp.Headers.CONTENT_LENGTH)) {
            return frame.getCommand() + " header " + printable(header) + " is not allowed here";
         }
      }
      if (frame.getBodyAsBytes() != null && frame.getBodyAsBytes().length > 0) return frame.getCommand() + " with a body is not allowed here";
      return null;
   }

   /** A client's string in an error or log line: short, and only characters that cannot break a header or a line. */
   private static String printable(String value) {
      if (value == null) return "(none)";
      String shown = value.length() > 64 ? value.substring(0, 64) + "…" : value;
      return "\"" + shown.replaceAll("[^\\x20-\\x7e]", "?").replace(':', '?') + "\"";
   }

   private void refuse(RemotingConnection connection, Channel channel, String reason, String address) {
      refusals.count(reason, address);
      channel.close();
      connection.destroy();
   }

   /** A client address's CONNECT budget: {@code burst} at once, refilled at {@code rate} a second. */
   private static final class TokenBucket {
      private final double burst;
      private final double rate;
      private double tokens;
      private long last = System.nanoTime();

      TokenBucket(double burst, double rate) {
         this.burst = burst;
         this.rate = rate;
         this.tokens = burst;
      }

      private void refill() {
         long now = System.nanoTime();
         tokens = Math.min(burst, tokens + (now - last) / 1e9 * rate);
         last = now;
      }

      /** Refilled to the brim: the address has not connected for a while, and the bucket can go. */
      synchronized boolean full() {
         refill();
         return tokens >= burst;
      }

      synchronized boolean take() {
         refill();
         if (tokens < 1) return false;
         tokens -= 1;
         return true;
      }
   }

   /** Refusals counted by reason, logged as one line per reason every 10 s; also drops idle token buckets. */
   private final class RefusalLog {
      private final Map<String, Map<String, AtomicInteger>> counts = new ConcurrentHashMap<>();
      private final java.util.concurrent.ScheduledFuture<?> task;

      RefusalLog(ScheduledExecutorService pool) {
         task = pool.scheduleWithFixedDelay(this::flush, 10, 10, TimeUnit.SECONDS);
      }

      void count(String reason, String address) {
         // Reasons quote what the client sent: past this many in one period they are counted together.
         if (counts.size() >= 64 && !counts.containsKey(reason)) reason = "other refusals";
         counts.computeIfAbsent(reason, (key) -> new ConcurrentHashMap<>()).computeIfAbsent(address, (key) -> new AtomicInteger()).incrementAndGet();
      }

      private void flush() {
         counts.keySet().forEach((reason) -> {
            Map<String, AtomicInteger> byAddress = counts.remove(reason);
            if (byAddress == null) return;
            int total = byAddress.values().stream().mapToInt(AtomicInteger::get).sum();
            String top = byAddress.entrySet().stream().max((a, b) -> Integer.compare(a.getValue().get(), b.getValue().get())).map(Map.Entry::getKey).orElse("?");
            org.slf4j.LoggerFactory.getLogger(PublicEndpointGuard.class).warn(
               "livewall guard: refused {} time(s) in the last 10 s: {} (from {} address(es), most from {})", total, reason, byAddress.size(), top);
         });
         connectsByAddress.values().removeIf(TokenBucket::full);
      }

      void stop() {
         task.cancel(false);
      }
   }
}
