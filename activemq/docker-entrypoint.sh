#!/bin/sh
# Entrypoint for the official apache/activemq-artemis image (docker-compose.yml): puts livewall's configuration and
# users in place, then hands over to the image's own start script.
#
# The image copies etc-override/ into etc/ only when it first creates the instance; writing to etc/ as well makes
# an edited configuration take effect on a kept volume too.
set -eu
instance=/var/lib/artemis-instance
# Which configuration, under activemq/: broker.xml (one broker), or edge/core.xml and edge/broker.xml for an edge
# tier's core and edges (docker-compose.yml, profile edges).
config=${LIVEWALL_BROKER_XML:-broker.xml}
case "$config" in
  broker.xml | edge/core.xml | edge/broker.xml) ;;
  *) echo "docker-entrypoint.sh: LIVEWALL_BROKER_XML must be broker.xml, edge/core.xml or edge/broker.xml" >&2; exit 64 ;;
esac
if [ "$config" != broker.xml ] && [ -z "${LIVEWALL_EDGE_PASSWORD:-}" ]; then
  # Each container would otherwise make up its own, and the core could not log in to the edges.
  echo "docker-entrypoint.sh: $config needs LIVEWALL_EDGE_PASSWORD, the same for the core and every edge" >&2
  exit 64
fi
for dir in "$instance/etc-override" "$instance/etc"; do
  [ "$dir" = "$instance/etc" ] && [ ! -d "$dir" ] && continue
  mkdir -p "$dir"
  cp "/livewall/activemq/$config" "$dir/broker.xml"
  cp /livewall/activemq/login.config /livewall/activemq/artemis-roles.properties /livewall/activemq/log4j2.properties "$dir/"
  sh /livewall/activemq/write-users.sh "$dir" "$instance/livewall.env"
done
exec /docker-run.sh "$@"
