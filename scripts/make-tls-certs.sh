#!/usr/bin/env bash
# A demo PKI for running idbridge and its simulators over TLS, made with openssl:
#   ca.pem / ca-key.pem          a demo CA
#   server.pem / server-key.pem  a server certificate for localhost, 127.0.0.1 and ::1
#   client.pem / client-key.pem  a client certificate ("idbridge demo client"), for mTLS
# Usage: scripts/make-tls-certs.sh [DIR]   (default: config/demo/tls; existing files are replaced)
# Demo only: the keys are not encrypted. Each run makes a new CA, so certificates from two runs
# do not trust each other (the tests use that for "signed by another CA").
set -euo pipefail

dir=${1:-config/demo/tls}
days=${DAYS:-825}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 12)"; }

key ca-key.pem
openssl req -x509 -new -key ca-key.pem -out ca.pem -days 3650 -set_serial "$(serial)" \
  -subj "/CN=idbridge demo CA $(openssl rand -hex 4)" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"

# leaf NAME CN EXTENSIONS: a certificate signed by the CA.
leaf() {
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -out "$1.csr" -subj "/CN=$2"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -set_serial "$(serial)" \
    -days "$days" -out "$1.pem" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

leaf server localhost "$(printf '%s\n' 'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1')"
leaf client "idbridge demo client" "extendedKeyUsage=clientAuth"
chmod 600 ./*-key.pem
echo "demo TLS certificates in $PWD: ca.pem, server.pem, server-key.pem, client.pem, client-key.pem"
