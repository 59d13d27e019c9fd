#!/usr/bin/env bash
# Build the PostgreSQL image for Phoenix on PostgreSQL (cogniverse/postgresql:<TAG>, TAG = POSTGRESQL_VERSION
# with '+' as '_': an image tag admits no '+') offline, without Docker, from Debian packages:
#   1. a minimal Debian root filesystem (cluster/services/debian_rootfs.sh) with postgresql-15 (server,
#      pg_dump, pg_restore) and python3 with its standard library (the chart's backup-phoenix and
#      restore-phoenix steps run files/phoenix-backup.py here: json, hashlib, subprocess);
#   2. images/postgresql/start.sh as the entrypoint: initdb on an empty PGDATA (scram-sha-256, the
#      superuser password from POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD), then exec postgres;
#   3. packed with cluster/images/oci_image.py: user 65532:65532, port 5432.
# POSTGRESQL_VERSION in versions.env is the Debian package version of postgresql-15; the build refuses
# a root filesystem with another (the mirror serves only its newest point release).
# The archive path is the only stdout line; logs and timings go to stderr. Cached by version and
# the hash of every input: a second run only prints the path.
#
#   archive=$(images/postgresql/build.sh [--out DIR] [--force])
#   python3 cluster/images/oci_names.py "$archive" | ctr -n k8s.io images import -
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=postgresql
IMAGE=cogniverse/postgresql
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"
image_flags "$@"

VERSION=$(pin POSTGRESQL_VERSION)
TAG=${VERSION//+/_}
PACKAGES=ca-certificates,postgresql-15,python3,tzdata
SUITE=$(pin SERVICES_DEBIAN_SUITE)
image_cached "$VERSION" "$({ cat "$HERE/build.sh" "$HERE/start.sh" "$ROOT/cluster/services/debian_rootfs.sh" "$ROOT/cluster/images/oci_image.py"; echo "$SUITE"; })"

# The package version and list are part of the file name, so a new point release or package builds a new
# root filesystem.
rootfs="$CACHE/rootfs/postgresql-$VERSION-$SUITE-$( { cat "$ROOT/cluster/services/debian_rootfs.sh"; echo "$PACKAGES"; } | sha256sum | cut -c1-12).tar"
"$ROOT/cluster/services/debian_rootfs.sh" --out "$rootfs" --include "$PACKAGES" \
  || die "the root filesystem with postgresql-15 failed"
got=$(tar -xOf "$rootfs" ./var/lib/dpkg/status | awk '/^Package: /{p=$2} /^Version: /{if (p=="postgresql-15") print $2}')
if [[ "$got" != "$VERSION" ]]; then
  rm -f "$rootfs"
  die "the Debian mirror serves postgresql-15 $got, versions.env pins POSTGRESQL_VERSION=$VERSION: update the pin"
fi
tar -tf "$rootfs" ./usr/lib/postgresql/15/bin/postgres ./usr/lib/postgresql/15/bin/pg_dump >/dev/null \
  || die "$rootfs has no /usr/lib/postgresql/15/bin/postgres or pg_dump"

image_pack "$IMAGE:$TAG" \
  --layer-tar "$rootfs" --user 65532:65532 --workdir /var/lib/postgresql \
  --env PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin --env PGDATA=/var/lib/postgresql/data/pgdata \
  --entrypoint '["/usr/local/bin/start-postgresql"]' --expose 5432/tcp \
  --dir /var/lib/postgresql/data:0777 --dir /var/run/postgresql:1777 \
  "$HERE/start.sh=/usr/local/bin/start-postgresql:0755"
