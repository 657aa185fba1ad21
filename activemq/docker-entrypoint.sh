#!/bin/sh
# Entrypoint for the official apache/activemq-artemis image (docker-compose.yml): puts livewall's configuration and
# users in place, then hands over to the image's own start script.
#
# The image copies etc-override/ into etc/ only when it first creates the instance; writing to etc/ as well makes
# an edited configuration take effect on a kept volume too.
set -eu
instance=/var/lib/artemis-instance
for dir in "$instance/etc-override" "$instance/etc"; do
  [ "$dir" = "$instance/etc" ] && [ ! -d "$dir" ] && continue
  mkdir -p "$dir"
  cp /livewall/activemq/broker.xml /livewall/activemq/login.config /livewall/activemq/artemis-roles.properties /livewall/activemq/log4j2.properties "$dir/"
  sh /livewall/activemq/write-users.sh "$dir" "$instance/livewall.env"
done
exec /docker-run.sh "$@"
