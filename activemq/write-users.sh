#!/usr/bin/env sh
# Writes the broker's users file without committing a password anywhere.
#
#   write-users.sh ETC_DIR SECRETS_FILE
#
# Each of admin, publisher, viewer, moderator and edge gets LIVEWALL_<USER>_PASSWORD from the environment, else the value kept in
# SECRETS_FILE by an earlier run, else a new random one. The result goes to ETC_DIR/artemis-users.properties and
# SECRETS_FILE (sourceable shell, mode 600), both readable by their owner only. Passwords are never printed.
set -eu
etc_dir=$1
secrets=$2
umask 077

# The environment wins over the kept values: read it before the secrets file sets the same names.
from_env_admin=${LIVEWALL_ADMIN_PASSWORD:-}
from_env_publisher=${LIVEWALL_PUBLISHER_PASSWORD:-}
from_env_viewer=${LIVEWALL_VIEWER_PASSWORD:-}
from_env_moderator=${LIVEWALL_MODERATOR_PASSWORD:-}
from_env_edge=${LIVEWALL_EDGE_PASSWORD:-}
if [ -f "$secrets" ]; then . "$secrets"; fi

random_password() {
  head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# .properties escaping: backslash first, then the separators and comment characters.
properties_escape() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/\([=:#!]\)/\\\1/g' -e 's/^ /\\ /'
}

# Single-quoted shell word: close the quote, add an escaped quote, reopen.
shell_quote() {
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

tmp_users="$etc_dir/artemis-users.properties.tmp"
tmp_secrets="$secrets.tmp"
printf '# Written by livewall activemq/write-users.sh. user = password\n' > "$tmp_users"
: > "$tmp_secrets"
for user in admin publisher viewer moderator edge; do
  var="LIVEWALL_$(echo "$user" | tr '[:lower:]' '[:upper:]')_PASSWORD"
  eval "password=\${from_env_$user:-}"
  [ -n "$password" ] || eval "password=\${$var:-}"
  [ -n "$password" ] || password=$(random_password)
  printf '%s = %s\n' "$user" "$(properties_escape "$password")" >> "$tmp_users"
  printf '%s=%s\n' "$var" "$(shell_quote "$password")" >> "$tmp_secrets"
done
mv "$tmp_users" "$etc_dir/artemis-users.properties"
mv "$tmp_secrets" "$secrets"
