#' Decryption share for a pooled aggregate (server side)
#'
#' The site checks the request (every contribution from a distinct roster
#' site of the query's declared site set, its own included, at least
#' `mhe.min.parties` of them, its own contribution decrypted at most once,
#' the decrypting sites as its threshold allows), writes the share to its
#' audit file (`mhe.audit.file`) and returns it.
#'
#' @param query Query id (22 base64url characters).
#' @param request Decryption request: base64url, or `"buf:<name>"`.
#' @returns A raw vector (signed decryption share).
#' @family server functions
#' @export
mheDecryptDS <- function(query, request) {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  query <- srv_query(query, site)
  request <- srv_blob(party, request, site, "request")
  rs_call(rs_party_decrypt(party, request), site = site)
}
