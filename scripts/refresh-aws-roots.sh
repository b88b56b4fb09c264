#!/usr/bin/env bash
# Rewrites rotation-core/certs/aws-endpoint-roots.pem: the certificate
# authorities AWS's service endpoints (Secrets Manager, STS, RDS; regional,
# FIPS and VPC endpoints alike) chain to, Amazon Trust Services' roots and
# the Starfield root that cross-signs them. Taken from Debian's
# ca-certificates (Mozilla's root program), so each is a public root.
#
#   ./scripts/refresh-aws-roots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=rotation-core/certs/aws-endpoint-roots.pem
roots=(
    Amazon_Root_CA_1
    Amazon_Root_CA_2
    Amazon_Root_CA_3
    Amazon_Root_CA_4
    Starfield_Services_Root_Certificate_Authority_-_G2
)
{
    echo "The roots AWS service endpoints chain to, from Debian's ca-certificates"
    echo "$(dpkg-query -W -f='${Version}' ca-certificates 2>/dev/null || echo '(version unknown)'); regenerate with scripts/refresh-aws-roots.sh."
    for root in "${roots[@]}"; do
        file="/etc/ssl/certs/$root.pem"
        [ -f "$file" ] || { echo "missing $file: apt-get install ca-certificates" >&2; exit 1; }
        echo
        openssl x509 -in "$file" -noout -subject -enddate
        openssl x509 -in "$file"
    done
} > "$out"
echo "wrote $out"
