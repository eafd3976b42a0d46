#!/usr/bin/env bash
# Creates the demo certificates the Net iD Portal simulator uses, with the openssl CLI.
#
#   john-doe.cer       self-signed client certificate, subject CN=John Doe, O=Contoso Ltd, 20 years
#   john-doe.key       its private key, PKCS#8 PEM: the demo user's key, public on purpose
#   netid-server.cer   self-signed server certificate, subject CN=Net iD Portal Simulator, 20 years
#
# Each .cer file holds the certificate as base64 DER on one line: the form a Net iD Login request
# carries in its `Certificate` input and the form the simulator answers with. John Doe's key is kept
# because a Net iD login takes two steps: step 1 seals a nonce to the certificate, and only the key's
# holder can answer step 2 (`idbridge netid-login` does both). The server's key is thrown away: the
# simulator never signs or decrypts with it.
#
# The script also writes the new server certificate into directory.json (`netid.serverCertificate`),
# because the simulator's tests require the two to be equal. The outputs are checked in; run this only
# to renew them (they expire 20 years after they were made), then rerun `cargo test -p idbridge-sim`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

days=7305 # 20 years, leap days included

# make_cert SUBJECT OUTFILE [KEYFILE]: a self-signed RSA certificate, base64 DER on one line, and
# its PKCS#8 PEM private key if KEYFILE is given.
make_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
    -subj "$1" -keyout "$work/key.pem" -outform DER -out "$work/cert.der" 2>/dev/null
  base64 -w0 "$work/cert.der" >"$2"
  echo >>"$2"
  if [ -n "${3:-}" ]; then
    openssl pkey -in "$work/key.pem" -out "$3"
  fi
  rm -f "$work/key.pem" "$work/cert.der"
}

make_cert "/CN=John Doe/O=Contoso Ltd" "$here/john-doe.cer" "$here/john-doe.key"
make_cert "/CN=Net iD Portal Simulator" "$here/netid-server.cer"

server=$(tr -d '\n' <"$here/netid-server.cer")
# base64 never contains '|', so it is a safe sed delimiter.
sed -i -E "s|(\"serverCertificate\": *\")[^\"]*\"|\1${server}\"|" "$here/directory.json"
grep -q "$server" "$here/directory.json" || {
  echo "make-certs.sh: could not update serverCertificate in directory.json" >&2
  exit 1
}
echo "wrote $here/john-doe.cer, $here/john-doe.key, $here/netid-server.cer and updated directory.json"
