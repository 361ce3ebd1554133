#!/bin/sh
# Generated from plugin/quloud.plugin.json by `npm run package`: edit the manifest, not this file.
# Container entry: maps the NAS conventions onto QULOUD_* variables, then runs the node.
# In host network mode Unraid passes each Port setting as TCP_PORT_<container port>=<host port>;
# a QULOUD_* variable set explicitly always wins. QULOUD_APP_DIR is where the app is installed.
set -eu
: "${QULOUD_WEB_LISTEN:=0.0.0.0:${TCP_PORT_30480:-30480}}"
: "${QULOUD_PEER_LISTEN:=0.0.0.0:${TCP_PORT_30481:-30481}}"
: "${QULOUD_DATA_DIR:=/data/node}"
export QULOUD_WEB_LISTEN QULOUD_PEER_LISTEN QULOUD_DATA_DIR
exec node "${QULOUD_APP_DIR:-/app}/dist/cli/bin.js" "$@"
