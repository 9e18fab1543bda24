#!/bin/sh
# Makes plugins/<name> from plugins/template as a new plugin called <name>:
# package radixgate-plugin-<name>, library radixgate_plugin_<name with _>,
# plugin type <Name in CamelCase>, NAME "<name>", header X-<Name-Parts>,
# and adds it to the workspace members after the template.
# Usage: make new-plugin NAME=<name>   (or: sh plugins/new-plugin.sh <name>)
set -eu

name=${1:-}
root=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "$name" ]; then
    echo "usage: make new-plugin NAME=<name> (like key-auth: lower-case letters, digits, dashes)" >&2
    exit 2
fi
if ! printf '%s\n' "$name" | grep -Eq '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'; then
    echo "new-plugin: bad name \"$name\": lower-case letters, digits and single dashes, starting with a letter (like key-auth)" >&2
    exit 2
fi
dest="$root/plugins/$name"
if [ -e "$dest" ]; then
    echo "new-plugin: plugins/$name exists already" >&2
    exit 1
fi
member='    "plugins/template",'
if ! grep -qxF "$member" "$root/Cargo.toml"; then
    echo "new-plugin: Cargo.toml has no member line '$member' to add the new plugin after" >&2
    exit 1
fi

under=$(printf '%s' "$name" | tr - _)
camel=$(printf '%s' "$name" | awk -F- '{ for (i = 1; i <= NF; i++) printf "%s%s", toupper(substr($i, 1, 1)), substr($i, 2) }')
title=$(printf '%s' "$name" | awk -F- '{ for (i = 1; i <= NF; i++) printf "%s%s%s", (i > 1 ? "-" : ""), toupper(substr($i, 1, 1)), substr($i, 2) }')

mkdir "$dest"
cp -R "$root/plugins/template/Cargo.toml" "$root/plugins/template/src" "$dest/"
find "$dest" -type f | while read -r file; do
    sed -e "s/X-Template/X-$title/g" \
        -e "s/radixgate-plugin-template/radixgate-plugin-$name/g" \
        -e "s/radixgate_plugin_template/radixgate_plugin_$under/g" \
        -e "s/A minimal, documented radixgate plugin to copy/The $name radixgate plugin/" \
        -e "s/Template/$camel/g" \
        -e "s/template/$name/g" \
        "$file" >"$file.new"
    mv "$file.new" "$file"
done
awk -v member="$member" -v added="    \"plugins/$name\"," \
    '{ print } $0 == member { print added }' "$root/Cargo.toml" >"$root/Cargo.toml.new"
mv "$root/Cargo.toml.new" "$root/Cargo.toml"

echo "plugins/$name: plugin \"$name\" (type $camel), package radixgate-plugin-$name, a workspace member"
echo "build: cargo build -p radixgate-plugin-$name; test: cargo test -p radixgate-plugin-$name"
