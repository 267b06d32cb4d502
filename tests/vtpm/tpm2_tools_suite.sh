#!/usr/bin/env bash
# tpm2_tools_suite.sh HOST PORT: tpm2-tools against a TPM that speaks swtpm's socket protocol at
# HOST:PORT (data) and HOST:PORT+1 (control) — cvtpm-vtpmd, the firmware in QEMU behind
# cvtpm-tpm-bridge, or swtpm as the reference. The TPM
# must be freshly powered on and not started. One "ok - <step>" line per step; the first failing
# step prints the tool's output and ends the run with status 1.
#
# Without a resource manager, transient objects and sessions of one tool invocation stay loaded
# (the TPM has 3 object slots): every step flushes them, and later steps reload keys from their
# saved context files.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 HOST PORT" >&2; exit 2; }
export TPM2TOOLS_TCTI="swtpm:host=$1,port=$2"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() {
  echo "not ok - $1"
  sed 's/^/#   /' "$work/step.log"
  exit 1
}

# step NAME COMMAND...: runs COMMAND (a function or a program) in a subshell that stops at its
# first failing command, then flushes transient objects and loaded sessions. (errexit would be
# ignored inside the function if it ran in an `if` condition, hence the explicit status.)
step() {
  local name=$1 status
  shift
  set +e
  (
    set -e
    "$@"
  ) >"$work/step.log" 2>&1
  status=$?
  set -e
  [ $status -eq 0 ] || fail "$name"
  if ! { tpm2_flushcontext -t && tpm2_flushcontext -l; } >"$work/step.log" 2>&1; then
    fail "$name (flushing)"
  fi
  echo "ok - $name"
}

hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
unhex() { printf '%b' "$(sed 's/../\\x&/g' "$1")"; }

# flushed TOOL ARGS...: one tool invocation, then its transient objects are flushed (each tool
# that takes a context file loads it again).
flushed() {
  "$@"
  tpm2_flushcontext -t
}

startup() { tpm2_startup -c; }

getrandom() {
  tpm2_getrandom -o random.bin 32
  [ "$(stat -c %s random.bin)" -eq 32 ]
  # (Output captured first: `tool | grep -q` can fail with SIGPIPE under pipefail.)
  local text
  text=$(tpm2_getrandom --hex 8)
  grep -Eq '^[0-9a-f]{16}$' <<<"$text"
}

pcr_extend_and_read() {
  tpm2_pcrread sha256:16 -o before.bin
  printf 'cvtpm tpm2-tools suite' | sha256sum | cut -c1-64 >digest.hex
  tpm2_pcrextend "16:sha256=$(cat digest.hex)"
  tpm2_pcrread sha256:16 -o after.bin
  # PCR_new = SHA-256(PCR_old || digest), computed here independently of the TPM.
  expected=$( { cat before.bin; unhex digest.hex; } | sha256sum | cut -c1-64)
  [ "$(hex after.bin)" = "$expected" ]
}

createprimary() {
  flushed tpm2_createprimary -C o -G ecc -g sha256 -c primary.ctx
  tpm2_readpublic -c primary.ctx >/dev/null
}

createek() {
  flushed tpm2_createek -c ek.ctx -G rsa -u ek.pub
  local text
  text=$(tpm2_readpublic -c ek.ctx)
  grep -q 'fixedtpm|fixedparent|sensitivedataorigin|adminwithpolicy|restricted|decrypt' <<<"$text"
}

create_and_load() {
  flushed tpm2_create -C primary.ctx -G ecc -g sha256 \
    -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -u key.pub -r key.priv
  tpm2_load -C primary.ctx -u key.pub -r key.priv -c key.ctx
}

sign_and_verify() {
  printf 'a message to sign\n' >message.bin
  flushed tpm2_sign -c key.ctx -g sha256 -o signature.bin message.bin
  flushed tpm2_verifysignature -c key.ctx -g sha256 -m message.bin -s signature.bin
  # And independently of the TPM: OpenSSL with the public key.
  flushed tpm2_readpublic -c key.ctx -f pem -o key.pem >/dev/null
  flushed tpm2_sign -c key.ctx -g sha256 -f plain -o signature.der message.bin
  openssl dgst -sha256 -verify key.pem -signature signature.der message.bin
  # A changed message does not verify.
  printf 'another message\n' >other.bin
  if tpm2_verifysignature -c key.ctx -g sha256 -m other.bin -s signature.bin; then return 1; fi
}

quote_and_checkquote() {
  tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub -f pem -n ak.name
  tpm2_flushcontext -t
  tpm2_flushcontext -l
  tpm2_quote -c ak.ctx -l sha256:0,16 -q 0123456789abcdef -m quote.msg -s quote.sig \
    -o quote.pcrs -g sha256
  tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q 0123456789abcdef
  if tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 \
    -q fedcba9876543210; then
    return 1
  fi
}

# RSA-OAEP both ways: OpenSSL encrypts with the key's public half and the TPM decrypts, and the
# TPM's own encryption round-trips (libtpms' RSA through libcrypto's RSA key management and
# asymmetric cipher).
rsa_oaep() {
  flushed tpm2_create -C primary.ctx -G rsa2048 \
    -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt' -u rsa.pub -r rsa.priv
  flushed tpm2_load -C primary.ctx -u rsa.pub -r rsa.priv -c rsa.ctx
  flushed tpm2_readpublic -c rsa.ctx -f pem -o rsa.pem >/dev/null
  printf 'a secret for RSA-OAEP' >secret.bin
  openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in secret.bin -out openssl.oaep
  flushed tpm2_rsadecrypt -c rsa.ctx -s oaep -o decrypted.bin openssl.oaep
  cmp secret.bin decrypted.bin
  flushed tpm2_rsaencrypt -c rsa.ctx -s oaep -o tpm.oaep secret.bin
  flushed tpm2_rsadecrypt -c rsa.ctx -s oaep -o decrypted2.bin tpm.oaep
  cmp secret.bin decrypted2.bin
}

# An RSA-PSS signature by the TPM that OpenSSL verifies (libcrypto's RSA signature).
rsa_pss_sign() {
  flushed tpm2_create -C primary.ctx -G rsa2048:rsapss-sha256:null \
    -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -u pss.pub -r pss.priv
  flushed tpm2_load -C primary.ctx -u pss.pub -r pss.priv -c pss.ctx
  flushed tpm2_readpublic -c pss.ctx -f pem -o pss.pem >/dev/null
  printf 'a message to sign with RSA-PSS\n' >pss-message.bin
  flushed tpm2_sign -c pss.ctx -g sha256 -s rsapss -f plain -o pss.sig pss-message.bin
  openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-2 -verify pss.pem \
    -signature pss.sig pss-message.bin
}

# AES-128-CFB with a TPM-held key: TPM2_EncryptDecrypt(2) round trip, and the ciphertext differs
# from the plaintext.
aes_encrypt_decrypt() {
  flushed tpm2_create -C primary.ctx -G aes128cfb \
    -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt|sign' -u aes.pub -r aes.priv
  flushed tpm2_load -C primary.ctx -u aes.pub -r aes.priv -c aes.ctx
  printf '0123456789abcdef' >iv.bin
  printf 'forty-three bytes of plaintext for AES-CFB\n' >aes-plain.bin
  flushed tpm2_encryptdecrypt -c aes.ctx -t iv.bin -o aes-cipher.bin aes-plain.bin
  if cmp -s aes-plain.bin aes-cipher.bin; then return 1; fi
  flushed tpm2_encryptdecrypt -d -c aes.ctx -t iv.bin -o aes-decrypted.bin aes-cipher.bin
  cmp aes-plain.bin aes-decrypted.bin
}

nv_define_write_read() {
  local index=0x1500016
  tpm2_nvdefine "$index" -C o -s 32 -a 'ownerread|ownerwrite'
  head -c 32 random.bin >nv.in
  tpm2_nvwrite "$index" -C o -i nv.in
  tpm2_nvread "$index" -C o -s 32 -o nv.out
  cmp nv.in nv.out
  tpm2_nvundefine "$index" -C o
}

flushcontext() {
  tpm2_createprimary -C o -G ecc -c extra.ctx
  local text
  text=$(tpm2_getcap handles-transient)
  grep -q '0x80' <<<"$text"
  tpm2_flushcontext -t
  [ -z "$(tpm2_getcap handles-transient)" ]
}

several_clients() {
  local pids=() i
  for i in 1 2 3 4; do
    (
      for _ in $(seq 10); do
        tpm2_getrandom -o "client$i.bin" 16 && tpm2_pcrread sha256:0 >/dev/null || exit 1
      done
    ) &
    pids+=($!)
  done
  local failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed -eq 0 ]
}

step "tpm2_startup" startup
step "tpm2_getrandom" getrandom
step "tpm2_pcrextend + tpm2_pcrread" pcr_extend_and_read
step "tpm2_createprimary" createprimary
step "tpm2_createek" createek
step "tpm2_create + tpm2_load" create_and_load
step "tpm2_sign + tpm2_verifysignature" sign_and_verify
step "tpm2_quote + tpm2_checkquote" quote_and_checkquote
step "tpm2_rsaencrypt + tpm2_rsadecrypt (RSA-OAEP, and OpenSSL)" rsa_oaep
step "tpm2_sign RSA-PSS (OpenSSL verifies)" rsa_pss_sign
step "tpm2_encryptdecrypt (AES-128-CFB)" aes_encrypt_decrypt
step "tpm2_nvdefine + tpm2_nvwrite + tpm2_nvread" nv_define_write_read
step "tpm2_flushcontext" flushcontext
step "4 clients at once" several_clients
echo "all steps passed"
