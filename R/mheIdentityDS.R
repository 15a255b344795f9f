#' This site's signed identity (server side)
#'
#' Aggregate method of [ds.mheSetup()]: the site's name, session, parameter
#' set, Ed25519 verification key and X25519 key, signed.
#'
#' @returns A raw vector (identity blob).
#' @family server functions
#' @export
mheIdentityDS <- function() {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  rs_call(rs_party_identity(party), site = site)
}
