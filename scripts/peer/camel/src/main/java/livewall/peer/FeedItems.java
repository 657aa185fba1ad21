package livewall.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * livewall's feed logic for X posts, ported from the worker so that the Camel side does the same work per line:
 * decode an X filtered-stream line (worker/src/sources/x/decode.ts), keep posts with a picture (pipeline/filter.ts,
 * videoPreviews on, as livewall's default), map to the feed item (pipeline/mapper.ts, text.ts) and check it against the
 * message contract (contract/src/validate.ts). The feed item is a LinkedHashMap in the contract's field order, so that
 * Jackson writes the same JSON as the worker's JSON.stringify. Only what the X recording exercises is ported: the
 * bench's wire check (scripts/bench-peer.mjs) compares both sides' bodies, so a difference shows.
 */
final class FeedItems {
  /** Why a line is not a feed item; its message is a counter label. */
  static final class Dropped extends Exception {
    Dropped(String reason) {
      super(reason, null, false, false);
    }
  }

  record Media(String kind, String url, String previewUrl, String alt, int width, int height) {}

  record Post(String nativeId, String url, String handle, String name, String text, String createdAt, List<Media> media, List<String> feeds) {}

  static final Set<String> IMAGE_HOSTS = Set.of("pbs.twimg.com", "cdn.bsky.app");
  static final int ITEM_BYTES = 16 * 1024, TEXT_CHARS = 500, IMAGES = 4, ALT_CHARS = 1000, AUTHOR_CHARS = 100, ID_CHARS = 256, URL_CHARS = 2048, DIMENSION = 100_000;

  private static final Pattern NUMERIC_ID = Pattern.compile("\\d{1,25}");
  private static final Pattern CANONICAL_TIME = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z");
  private static final Pattern ISO_UTC = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z");
  private static final Pattern USERNAME = Pattern.compile("\\w{1,50}");
  private static final Pattern FEED_NAME = Pattern.compile("[a-z0-9-]{1,32}");
  private static final Pattern ITEM_ID = Pattern.compile("[^:\\s]+:\\S+");
  private static final Pattern PLAIN_PATH = Pattern.compile("(?:/(?!\\.\\.?(?:/|$))[\\w\\-.~!$&'()*+,;=:@]*)+");
  private static final Pattern MARKUP = Pattern.compile("</?[a-z!][^>]*>", Pattern.CASE_INSENSITIVE);
  private static final Pattern ENTITY = Pattern.compile("&(#\\d{1,7}|#x[0-9a-f]{1,6}|[a-z]+\\d*);", Pattern.CASE_INSENSITIVE);
  private static final Map<String, String> ENTITIES = Map.of("amp", "&", "lt", "<", "gt", ">", "quot", "\"", "apos", "'", "#39", "'", "nbsp", "\u00a0");
  private static final Map<String, String> MEDIA_KINDS = Map.of("photo", "photo", "video", "video", "animated_gif", "gif");
  private static final DateTimeFormatter ISO_MILLIS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private final ObjectMapper json;
  private final String feed;

  FeedItems(ObjectMapper json, String feed) {
    this.json = json;
    this.feed = feed;
  }

  static String now() {
    return ISO_MILLIS.format(Instant.now());
  }

  /** A recorded line → the post it carries, or Dropped (keep-alive, not a post, invalid, no picture, another feed). */
  Post post(String line) throws Dropped {
    if (line.isBlank()) throw new Dropped("keep-alive");
    JsonNode event;
    try {
      event = json.readTree(line);
    } catch (Exception e) {
      throw new Dropped("invalid:not-json");
    }
    JsonNode data = event.get("data");
    if (data == null || !data.isObject()) throw new Dropped("invalid:no-data");
    String id = text(data, "id");
    if (id == null || !NUMERIC_ID.matcher(id).matches()) throw new Dropped("invalid:bad-id");
    String text = text(data, "text");
    if (text == null) throw new Dropped("invalid:bad-text");
    String createdAt = text(data, "created_at");
    if (createdAt == null) throw new Dropped("invalid:bad-created-at");
    if (!(CANONICAL_TIME.matcher(createdAt).matches() && isRealDateTime(createdAt))) {
      try {
        createdAt = ISO_MILLIS.format(Instant.parse(createdAt));
      } catch (Exception e) {
        throw new Dropped("invalid:bad-created-at");
      }
    }
    JsonNode includes = event.path("includes");
    JsonNode author = null;
    for (JsonNode user : includes.path("users")) {
      if (user.isObject() && user.path("id").equals(data.path("author_id"))) {
        author = user;
        break;
      }
    }
    String username = author == null ? null : text(author, "username");
    if (username == null || !USERNAME.matcher(username).matches()) throw new Dropped("invalid:no-author");

    Map<String, JsonNode> mediaByKey = new HashMap<>();
    for (JsonNode media : includes.path("media")) {
      if (media.isObject() && media.path("media_key").isTextual()) mediaByKey.put(media.get("media_key").asText(), media);
    }
    List<Media> media = new ArrayList<>();
    for (JsonNode key : data.path("attachments").path("media_keys")) {
      JsonNode raw = key.isTextual() ? mediaByKey.get(key.asText()) : null;
      String kind = raw == null ? null : MEDIA_KINDS.get(raw.path("type").asText(""));
      if (kind != null) media.add(new Media(kind, optional(raw, "url"), optional(raw, "preview_image_url"), optional(raw, "alt_text"), dimension(raw.path("width")), dimension(raw.path("height"))));
    }
    List<String> feeds = new ArrayList<>();
    for (JsonNode rule : event.path("matching_rules")) {
      String tag = rule.isObject() ? text(rule, "tag") : null;
      if (tag != null && !feeds.contains(tag)) feeds.add(tag);
    }
    // The source route's picture filter, then the feed route's feed filter.
    if (media.isEmpty()) throw new Dropped("no-media");
    if (pictures(media).isEmpty()) throw new Dropped("no-usable-image");
    if (!feeds.contains(feed)) throw new Dropped("other-feed");
    return new Post(id, "https://x.com/" + username + "/status/" + id, username, optional(author, "name"), text, createdAt, media, List.of(feed));
  }

  /** The post → the feed item (without publishedAt), fields in the contract's order. */
  Map<String, Object> item(Post post) throws Dropped {
    List<Map<String, Object>> images = new ArrayList<>();
    for (Media media : pictures(post.media())) {
      String url = media.kind().equals("photo") ? media.url() : media.previewUrl();
      String thumb = thumbnail(url);
      if (thumb == null || imageRefusal(url) != null || imageRefusal(thumb) != null) continue;
      Map<String, Object> image = new LinkedHashMap<>();
      image.put("url", url);
      image.put("thumb", thumb);
      String alt = media.alt() == null ? "" : plainText(media.alt(), ALT_CHARS);
      if (!alt.isEmpty()) image.put("alt", alt);
      if (media.width() > 0 && media.width() <= DIMENSION) image.put("width", media.width());
      if (media.height() > 0 && media.height() <= DIMENSION) image.put("height", media.height());
      images.add(image);
      if (images.size() == IMAGES) break;
    }
    if (images.isEmpty()) throw new Dropped("image-host");
    String handle = plainText(post.handle(), AUTHOR_CHARS);
    if (handle.isEmpty()) throw new Dropped("no-author");
    Map<String, Object> author = new LinkedHashMap<>();
    author.put("handle", handle);
    String name = post.name() == null ? "" : plainText(post.name(), AUTHOR_CHARS);
    if (!name.isEmpty()) author.put("name", name);
    author.put("url", "https://x.com/" + post.handle());
    Map<String, Object> item = new LinkedHashMap<>();
    item.put("v", 1);
    item.put("id", "x:" + post.nativeId());
    item.put("feed", post.feeds().get(0));
    item.put("network", "x");
    item.put("url", post.url());
    item.put("author", author);
    item.put("text", plainText(post.text(), TEXT_CHARS));
    item.put("images", images);
    item.put("createdAt", post.createdAt());
    item.put("receivedAt", now());
    return item;
  }

  /** The contract's checks of a feed item (all but the size, which needs the JSON: see checkSize). */
  @SuppressWarnings("unchecked")
  static void validate(Map<String, Object> item) throws Dropped {
    if (!Integer.valueOf(1).equals(item.get("v"))) throw new Dropped("contract");
    String id = (String) item.get("id");
    if (id == null || id.length() > ID_CHARS || !id.startsWith("x:") || !ITEM_ID.matcher(id).matches()) throw new Dropped("contract");
    String feed = (String) item.get("feed");
    if (feed == null || !FEED_NAME.matcher(feed).matches()) throw new Dropped("contract");
    if (!linkOnX((String) item.get("url"))) throw new Dropped("contract");
    Map<String, Object> author = (Map<String, Object>) item.get("author");
    checkText(author.get("handle"), AUTHOR_CHARS, true);
    if (author.containsKey("name")) checkText(author.get("name"), AUTHOR_CHARS, false);
    if (author.containsKey("url") && !linkOnX((String) author.get("url"))) throw new Dropped("contract");
    checkText(item.get("text"), TEXT_CHARS, false);
    List<Map<String, Object>> images = (List<Map<String, Object>>) item.get("images");
    if (images == null || images.isEmpty() || images.size() > IMAGES) throw new Dropped("contract");
    for (Map<String, Object> image : images) {
      for (String key : new String[] {"url", "thumb"}) {
        Object url = image.get(key);
        if (!(url instanceof String u) || imageRefusal(u) != null) throw new Dropped("contract");
      }
      if (image.containsKey("alt")) checkText(image.get("alt"), ALT_CHARS, false);
      for (String key : new String[] {"width", "height"}) {
        Object value = image.get(key);
        if (value != null && !(value instanceof Integer n && n >= 1 && n <= DIMENSION)) throw new Dropped("contract");
      }
    }
    for (String key : new String[] {"createdAt", "receivedAt", "publishedAt"}) {
      Object value = item.get(key);
      if (!(value instanceof String time && ISO_UTC.matcher(time).matches() && isRealDateTime(time))) throw new Dropped("contract");
    }
  }

  /** The contract's size limit, on the JSON that will be sent. */
  static void checkSize(byte[] body) throws Dropped {
    if (body.length > ITEM_BYTES) throw new Dropped("contract");
  }

  private static List<Media> pictures(List<Media> media) {
    List<Media> pictures = new ArrayList<>();
    for (Media candidate : media) {
      if (candidate.kind().equals("photo") ? candidate.url() != null : candidate.previewUrl() != null) pictures.add(candidate);
    }
    return pictures;
  }

  /** X's small thumbnail of a media URL: `?name=small` on a plain https URL, else set as the query parameter. */
  private static String thumbnail(String url) {
    String host = plainHttpsHost(url);
    if (host != null && PLAIN_PATH.matcher(url.substring("https://".length() + host.length())).matches()) return url + "?name=small";
    try {
      java.net.URI uri = new java.net.URI(url);
      return new java.net.URI(uri.getScheme(), uri.getAuthority(), uri.getPath(), "name=small", uri.getFragment()).toString();
    } catch (Exception e) {
      return null;
    }
  }

  private static String imageRefusal(String url) {
    if (url.length() > URL_CHARS) return "too long";
    String host = plainHttpsHost(url);
    return host != null && IMAGE_HOSTS.contains(host) ? null : "host";
  }

  private static boolean linkOnX(String url) {
    if (url == null || url.length() > URL_CHARS) return false;
    String host = plainHttpsHost(url);
    return "x.com".equals(host) || "twitter.com".equals(host);
  }

  private static void checkText(Object value, int max, boolean required) throws Dropped {
    if (!(value instanceof String text)) throw new Dropped("contract");
    if (required && text.isBlank()) throw new Dropped("contract");
    if (text.codePointCount(0, text.length()) > max) throw new Dropped("contract");
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) throw new Dropped("contract");
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) i++;
        else throw new Dropped("contract");
      }
    }
    if (text.indexOf('<') >= 0 && MARKUP.matcher(text).find()) throw new Dropped("contract");
  }

  /** The host of `https://` + a plain lowercase DNS name (contract/src/plain-url.ts), or null. */
  static String plainHttpsHost(String url) {
    if (!url.startsWith("https://")) return null;
    int start = 8, labelStart = start, end = start;
    for (; end < url.length(); end++) {
      char c = url.charAt(end);
      if (c == '/' || c == '\\' || c == '?' || c == '#') break;
      if (c == '.') {
        if (end == labelStart) return null;
        labelStart = end + 1;
      } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return null;
      }
    }
    if (end == labelStart || Character.isDigit(url.charAt(labelStart))) return null;
    String host = url.substring(start, end);
    return host.startsWith("xn--") || host.contains(".xn--") ? null : host;
  }

  private static final int[] DAYS_IN_MONTH = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  static boolean isRealDateTime(String value) {
    try {
      int year = Integer.parseInt(value, 0, 4, 10), month = Integer.parseInt(value, 5, 7, 10), day = Integer.parseInt(value, 8, 10, 10);
      int hour = Integer.parseInt(value, 11, 13, 10), minute = Integer.parseInt(value, 14, 16, 10), second = Integer.parseInt(value, 17, 19, 10);
      if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
      boolean leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
      return day <= (month == 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]);
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Plain text (pipeline/text.ts): entities decoded, tags and control characters removed, spaces collapsed, cut to `max` code points. */
  static String plainText(String text, int max) {
    if (!isPlain(text)) {
      String plain = decodeEntities(text), previous;
      do {
        previous = plain;
        plain = MARKUP.matcher(plain).replaceAll("");
      } while (!plain.equals(previous));
      plain = loneSurrogatesReplaced(plain).replaceAll("[\\u0000-\\u0008\\u000b-\\u001f\\u007f]", " ").replaceAll("[ \\t\\u00a0]+", " ").replaceAll(" *\n *", "\n").strip();
      text = plain;
    }
    if (text.length() <= max || text.codePointCount(0, text.length()) <= max) return text;
    return text.substring(0, text.offsetByCodePoints(0, max - 1)).stripTrailing() + "…";
  }

  private static boolean isPlain(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      char next = i + 1 < text.length() ? text.charAt(i + 1) : 0;
      if (c >= 0x20 && c < 0x7f) {
        if (c == '&' || c == '<' || (c == ' ' && (next == ' ' || next == '\n'))) return false;
      } else if (c == '\n') {
        if (next == ' ') return false;
      } else if (Character.isSurrogate(c)) {
        if (!Character.isHighSurrogate(c) || !Character.isLowSurrogate(next)) return false;
        i++;
      } else if (c < 0x20 || c == 0x7f || c == 0xa0) {
        return false;
      }
    }
    return text.strip().length() == text.length();
  }

  private static String decodeEntities(String text) {
    Matcher matcher = ENTITY.matcher(text);
    StringBuilder out = new StringBuilder();
    while (matcher.find()) {
      String lower = matcher.group(1).toLowerCase();
      String replacement = null;
      try {
        if (lower.startsWith("#x")) replacement = codePoint(Integer.parseInt(lower.substring(2), 16));
        else if (lower.startsWith("#") && !lower.equals("#39")) replacement = codePoint(Integer.parseInt(lower.substring(1), 10));
        else replacement = ENTITIES.get(lower);
      } catch (NumberFormatException e) {
        replacement = null;
      }
      matcher.appendReplacement(out, Matcher.quoteReplacement(replacement == null ? matcher.group() : replacement));
    }
    matcher.appendTail(out);
    return out.toString();
  }

  private static String codePoint(int code) {
    return code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ? null : new String(Character.toChars(code));
  }

  private static String loneSurrogatesReplaced(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        out.append(c).append(text.charAt(++i));
      } else {
        out.append(Character.isSurrogate(c) ? '\ufffd' : c);
      }
    }
    return out.toString();
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value != null && value.isTextual() ? value.asText() : null;
  }

  private static String optional(JsonNode node, String field) {
    String value = text(node, field);
    return value == null || value.isEmpty() ? null : value;
  }

  private static int dimension(JsonNode value) {
    return value.isIntegralNumber() && value.asLong() > 0 && value.asLong() <= Integer.MAX_VALUE ? value.asInt() : 0;
  }
}
