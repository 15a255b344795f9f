#' Finish key generation (server side)
#'
#' Aggregate method of [ds.mheSetup()]: the site checks the bundle of the
#' roster's key-generation shares, derives the collective public key (and its
#' threshold share) and confirms the key's digest, signed.
#'
#' @param bundle Bundle blob built for this site: base64url, or `"buf:<name>"`.
#' @returns A raw vector (signed confirmation).
#' @family server functions
#' @export
mheFinalizeDS <- function(bundle) {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  bundle <- srv_blob(party, bundle, site, "bundle")
  rs_call(rs_party_finalize(party, bundle), site = site)
}
