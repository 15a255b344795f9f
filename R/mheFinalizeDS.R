#' Receive the collective key and evaluate the key share (server side)
#'
#' Aggregate method of [ds.mheSetup()]: the site opens the key material each
#' peer sealed for it, takes the collective key the analyst summed from the
#' roster's shares, and returns signed evaluations of its own key share at
#' points derived from that key's digest. It accepts the key only in
#' [mheConfirmDS()], once every site's evaluations add up to the key's.
#'
#' @param bundle Bundle blob built for this site: base64url, or `"buf:<name>"`.
#' @returns A raw vector (signed key evaluations).
#' @family server functions
#' @export
mheFinalizeDS <- function(bundle) {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  bundle <- srv_blob(party, bundle, site, "bundle")
  rs_call(rs_party_finalize(party, bundle), site = site)
}
