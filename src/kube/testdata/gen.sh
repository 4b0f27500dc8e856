#!/bin/sh
# Regenerates the test PKI used by kube client tests (keys are test-only, never secret).
# ca: trusted root; server: 127.0.0.1/::1/localhost, signed by ca; client: CN=kube-bgp
# signed by ca; other.key: a key matching no certificate; other-ca: an unrelated root;
# expired-server: like server but valid only in 2000.
set -eu
cd "$(dirname "$0")"
ec() { openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$1"; }
ec ca.key; ec server.key; ec client.key; ec other.key; ec other-ca.key
openssl req -x509 -new -key ca.key -days 36500 -subj /CN=kube-bgp-test-ca -out ca.pem
openssl req -x509 -new -key other-ca.key -days 36500 -subj /CN=other-test-ca -out other-ca.pem
cat > ext.cnf <<X
[srv]
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
extendedKeyUsage=serverAuth
[cli]
extendedKeyUsage=clientAuth
X
openssl req -new -key server.key -subj /CN=localhost -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 \
  -extfile ext.cnf -extensions srv -out server.pem
openssl req -new -key client.key -subj "/CN=kube-bgp/O=system:nodes" -out client.csr
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 \
  -extfile ext.cnf -extensions cli -out client.pem
# Expired server certificate (2000-01-01 .. 2001-01-01), via a throwaway `openssl ca`.
d=$(mktemp -d)
touch "$d/index.txt"; echo 01 > "$d/serial"
cat > "$d/ca.cnf" <<X
[ca]
default_ca=c
[c]
database=$d/index.txt
serial=$d/serial
new_certs_dir=$d
default_md=sha256
policy=p
copy_extensions=none
[p]
commonName=supplied
X
openssl ca -batch -config "$d/ca.cnf" -cert ca.pem -keyfile ca.key -in server.csr \
  -startdate 20000101000000Z -enddate 20010101000000Z -extfile ext.cnf -extensions srv \
  -out expired-server.pem -notext 2>/dev/null
rm -rf "$d" server.csr client.csr ext.cnf ca.srl other-ca.key
