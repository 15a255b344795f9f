#' End the dsMHE session on a site (server side)
#'
#' Zeroizes the party's secrets now (not at the next garbage collection) and
#' removes `mhe.party` from the DataSHIELD session. The site's audit file is
#' kept as it is.
#'
#' @returns `TRUE`, invisibly.
#' @family server functions
#' @export
mheCloseDS <- function() {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  rs_call(rs_party_wipe(party), site = site)
  rm(list = "mhe.party", envir = env)
  invisible(TRUE)
}
