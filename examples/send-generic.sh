#!/usr/bin/env bash
# Sends a signed alert to /webhooks/generic.
#   WARROOM_WEBHOOK_SECRET=... examples/send-generic.sh tests/fixtures/generic-alert.json
set -euo pipefail
body=$(cat "${1:-tests/fixtures/generic-alert.json}")
ts=$(date +%s)
sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$WARROOM_WEBHOOK_SECRET" -hex | sed 's/^.*= //')
curl -sS -X POST "${WARROOM_URL:-http://127.0.0.1:8080}/webhooks/generic" \
  -H "X-Warroom-Timestamp: $ts" -H "X-Warroom-Signature: sha256=$sig" \
  -H 'Content-Type: application/json' --data-binary "$body"
echo
