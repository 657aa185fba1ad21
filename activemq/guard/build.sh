#!/bin/sh
# Builds livewall's Artemis plugin (the public endpoint guard) into a jar for an instance's lib/ folder, against the
# jars of the Artemis distribution it will run in. Does nothing when the jar is newer than every source file.
#
#   activemq/guard/build.sh ARTEMIS_HOME OUT.jar
set -eu
home=$1
out=$2
src=$(cd "$(dirname "$0")" && pwd)
if [ -f "$out" ] && [ -z "$(find "$src" -name '*.java' -newer "$out")" ]; then exit 0; fi
command -v javac >/dev/null || { echo "guard: javac is missing: install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
javac --release 17 -nowarn -d "$classes" -cp "$home/lib/*" "$src"/livewall/guard/*.java
mkdir -p "$(dirname "$out")"
jar cf "$out.tmp" -C "$classes" .
mv "$out.tmp" "$out"
