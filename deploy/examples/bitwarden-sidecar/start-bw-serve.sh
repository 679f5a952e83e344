#!/bin/sh
# Log in with an API key, unlock with the master password, then serve on localhost only.
# Inputs (from a Kubernetes Secret): BW_SERVER (optional, e.g. a Vaultwarden URL),
# BW_CLIENTID, BW_CLIENTSECRET, BW_PASSWORD.
set -eu
if [ -n "${BW_SERVER:-}" ]; then
  bw config server "$BW_SERVER" >/dev/null
fi
# `bw login --apikey` reads BW_CLIENTID and BW_CLIENTSECRET from the environment.
bw login --apikey >/dev/null
BW_SESSION="$(bw unlock --passwordenv BW_PASSWORD --raw)"
export BW_SESSION
unset BW_PASSWORD BW_CLIENTSECRET
# Bound to localhost: only containers of this pod can reach it, and `bw serve` accepts only the
# Host names localhost / 127.0.0.1 / [::1] (with its port) anyway.
exec bw serve --hostname localhost --port 8087
