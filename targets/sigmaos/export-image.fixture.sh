#!/bin/sh
# FIXTURE (see ../../plugins/systems/sigmaos/src/testing/fixtures/export-image.sh): there is no
# docker daemon here, so the build exports a small reproducible OCI archive per image instead of
# `skopeo copy docker-daemon:IMAGE:latest oci-archive:ARCHIVE` (the default imageExport).
exec sh "$(dirname "$0")/../../plugins/systems/sigmaos/src/testing/fixtures/export-image.sh" "$@"
