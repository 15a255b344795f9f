#' Check the collective key and confirm it (server side)
#'
#' Aggregate method of [ds.mheSetup()]: the site checks every roster member's
#' signed key evaluations (each signed by that member, of the key this site
#' received, its own unchanged) and that they add up to the collective key's
#' evaluation, so the key is the sum of the members' shares; then it confirms
#' the key's digest, signed. A failed check names the member, or says that the
#' key is not the sum of the shares.
#'
#' @param evaluations Every site's key evaluations, as one blob: base64url,
#'   or `"buf:<name>"`.
#' @returns A raw vector (signed confirmation).
#' @family server functions
#' @export
mheConfirmDS <- function(evaluations) {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  evaluations <- srv_blob(party, evaluations, site, "evaluations")
  rs_call(rs_party_confirm(party, evaluations), site = site)
}
