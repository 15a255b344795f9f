# .Call wrappers for the Rust functions of rust/dsmhe (see rust/dsmhe/API.md).
# Written by hand to match `extendr_module!` in rust/dsmhe/src/lib.rs; extendr
# registers each function `f` as the native routine `wrap__f`. Call them through
# `rs_call()` (R/shared-rust.R), which turns an `extendr_error` into an R error.


# Site (server) side -------------------------------------------------------

rs_party_new <- function(site, session, params, key_file = "") .Call(wrap__rs_party_new, site, session, params, key_file)

rs_key_file_create <- function(path) .Call(wrap__rs_key_file_create, path)

rs_key_file_fingerprint <- function(path) .Call(wrap__rs_key_file_fingerprint, path)

rs_party_identity <- function(party) .Call(wrap__rs_party_identity, party)

rs_party_join <- function(party, roster, threshold, min_parties, min_threshold, pinned,
                          allow_unpinned, audit_file) {
  .Call(wrap__rs_party_join, party, roster, threshold, min_parties, min_threshold, pinned,
        allow_unpinned, audit_file)
}

rs_party_finalize <- function(party, bundle) .Call(wrap__rs_party_finalize, party, bundle)

rs_party_contribute <- function(party, query, kind, call_text, variables, sites, values,
                                dp = double()) {
  .Call(wrap__rs_party_contribute, party, query, kind, call_text, variables, sites, values, dp)
}

rs_party_decrypt <- function(party, request) .Call(wrap__rs_party_decrypt, party, request)

rs_party_audit <- function(party) .Call(wrap__rs_party_audit, party)

rs_audit_read <- function(path) .Call(wrap__rs_audit_read, path)

rs_party_buffer_append <- function(party, name, index, chunk) {
  .Call(wrap__rs_party_buffer_append, party, name, index, chunk)
}

rs_party_buffer_take <- function(party, name) .Call(wrap__rs_party_buffer_take, party, name)

rs_party_fingerprint <- function(party) .Call(wrap__rs_party_fingerprint, party)

rs_party_wipe <- function(party) .Call(wrap__rs_party_wipe, party)

# Analyst (client) side ----------------------------------------------------

rs_random_id <- function() .Call(wrap__rs_random_id)

rs_params_info <- function(params) .Call(wrap__rs_params_info, params)

rs_roster_build <- function(identities) .Call(wrap__rs_roster_build, identities)

rs_roster_info <- function(roster) .Call(wrap__rs_roster_info, roster)

rs_keygen_bundle <- function(shares, recipient) .Call(wrap__rs_keygen_bundle, shares, recipient)

rs_confirmations_check <- function(confirmations) .Call(wrap__rs_confirmations_check, confirmations)

rs_pool <- function(contributions, decryptors) .Call(wrap__rs_pool, contributions, decryptors)

rs_analyst_sign <- function(key_file, identity) .Call(wrap__rs_analyst_sign, key_file, identity)

rs_party_authenticate_analyst <- function(party, key, signature, pinned) {
  .Call(wrap__rs_party_authenticate_analyst, party, key, signature, pinned)
}

rs_combine <- function(pooled, shares) .Call(wrap__rs_combine, pooled, shares)

rs_blob_info <- function(blob) .Call(wrap__rs_blob_info, blob)

rs_b64_encode <- function(raw) .Call(wrap__rs_b64_encode, raw)

rs_b64_decode <- function(string) .Call(wrap__rs_b64_decode, string)
