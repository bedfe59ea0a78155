#!/bin/sh
# The image's entrypoint: `docker run stock-bazaar:latest catalog|order|frontend`.
# exec hands the container's PID 1 to node itself, so SIGTERM reaches the app's shutdown handlers
# (drain requests in flight, close SQLite) directly.
set -eu
app="${1:-}"
case "$app" in
  catalog | order | frontend) shift ;;
  *)
    echo "usage: stock-bazaar catalog|order|frontend (got '$app')" >&2
    exit 64
    ;;
esac
exec node "/app/dist/apps/$app/src/main.js" "$@"
